"""The built-in automl plugins. Each module registers through the `automl` entry-point group
in pyproject.toml, exactly as a third-party plugin package would."""
