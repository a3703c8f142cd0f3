"""automl: a plugin-based AutoML platform for deep learning on Ray Tune.

Importing this package is cheap: it starts no Ray, loads no plugin and imports no torch.
"""

from __future__ import annotations

from typing import Any

from automl.errors import AutoMLError
from automl.hookspecs import hookimpl

__version__ = "0.1.0"
__all__ = ["AutoML", "AutoMLError", "SearchResult", "hookimpl", "load", "__version__"]


def __getattr__(name: str) -> Any:
    # The Python API pulls in torch and Ray; load it only when asked for.
    if name in ("AutoML", "SearchResult"):
        from automl import api

        return getattr(api, name)
    if name == "load":
        from automl.predictor import load

        return load
    raise AttributeError(f"module 'automl' has no attribute {name!r}")
