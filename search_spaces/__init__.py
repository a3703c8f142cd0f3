"""Search-space YAML files shipped with automl (see automl/space/__init__.py for the schema)."""
