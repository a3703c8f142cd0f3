"""Infer the learning task from the target column, and check an explicit one fits it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from automl.components import TASKS
from automl.errors import AutoMLError

MAX_CLASSES_FOR_INTEGER_TARGET = 20


def infer_task(target: pd.Series, requested: str | None = None) -> str:
    """``binary``, ``multiclass`` or ``regression`` for a target column (missing values dropped)."""
    values = target.dropna()
    n_unique = values.nunique()
    if n_unique < 2:
        raise AutoMLError(
            f"target column '{target.name}' has {n_unique} distinct value(s)",
            "choose a target that varies across rows",
        )
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if requested is not None:
        if requested not in TASKS:
            raise AutoMLError(f"unknown task '{requested}'", f"use one of: {', '.join(TASKS)}")
        if requested == "regression" and not numeric:
            raise AutoMLError(
                f"task 'regression' needs a numeric target, but '{target.name}' holds {values.dtype} values",
                "use --task multiclass, or choose a numeric target",
            )
        if requested == "binary" and n_unique != 2:
            raise AutoMLError(f"task 'binary' needs 2 classes, target '{target.name}' has {n_unique}", "use --task multiclass")
        return requested
    if not numeric:
        return "binary" if n_unique == 2 else "multiclass"
    integer_valued = np.all(np.mod(values.to_numpy(dtype=float), 1) == 0)
    if integer_valued and n_unique <= MAX_CLASSES_FOR_INTEGER_TARGET:
        return "binary" if n_unique == 2 else "multiclass"
    return "regression"
