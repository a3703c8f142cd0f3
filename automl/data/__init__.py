"""The data stage: load → validate → infer task → split → fit preprocessing on train → arrays."""

from __future__ import annotations

from typing import Any

__all__ = ["PreparedData", "prepare_data"]


def __getattr__(name: str) -> Any:
    # Lazy, so that importing one light data module imports no pandas or scikit-learn.
    if name in __all__:
        from automl.data import prepare

        return getattr(prepare, name)
    raise AttributeError(f"module 'automl.data' has no attribute {name!r}")
