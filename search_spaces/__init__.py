"""Search-space YAML files shipped with automl (see automl/space.py for the schema)."""
