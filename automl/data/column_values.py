"""Raw table cells as the values the preprocessing transformers read: numbers, booleans (0/1)
and date parts as float32 (NaN = missing), categories as strings with missing as its own
category, free text as strings. An ill-typed cell is an error naming its column and value.

Used by the fitted preprocessing (:mod:`automl.data.preprocess`, which applies them chunk by
chunk), by :mod:`automl.data.columns` (the training spelling of booleans) and by the exported
pipeline, which reads new rows the same way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from automl.data.profile import RowView, parse_datetimes
from automl.errors import AutoMLError

MISSING_CATEGORY = "(missing)"
TRUE_WORDS = {"true": 1.0, "yes": 1.0, "1": 1.0, "1.0": 1.0, "false": 0.0, "no": 0.0, "0": 0.0, "0.0": 0.0}


def numeric_matrix(frame: pd.DataFrame | RowView, items: list[tuple[str, str, str]]) -> np.ndarray:
    """Numeric columns, booleans as 0/1 and date parts as one float32 matrix (NaN = missing);
    ``items`` are ``(column, kind, date part)`` with kind ``numeric``, ``boolean`` or ``datetime``."""
    out = np.empty((len(frame), len(items)), dtype=np.float32)
    stamps: dict[str, pd.Series] = {}
    for i, (column, kind, part) in enumerate(items):
        if kind == "numeric":
            out[:, i] = to_numbers(frame[column], column)
        elif kind == "boolean":
            out[:, i] = to_booleans(frame[column], column)
        else:
            if column not in stamps:
                stamps[column] = as_datetimes(frame[column])
            out[:, i] = getattr(stamps[column].dt, part).to_numpy(dtype=np.float32, na_value=np.nan)
    return out


def as_datetimes(values: pd.Series) -> pd.Series:
    """A date column as datetimes (already parsed ones unchanged; missing values stay missing)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    return parse_datetimes(values.astype(object).where(values.notna(), None))


def to_numbers(values: pd.Series, column: str) -> np.ndarray:
    """A numeric column as float32 (NaN = missing), or an AutoMLError naming a value that is not a number."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return values.to_numpy(dtype=np.float32, na_value=np.nan)
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna() & values.notna()
    if bad.any():
        raise AutoMLError(
            f"column '{column}' must be numeric but holds {values[bad].iloc[0]!r}",
            f"fix or remove that value in column '{column}' (leave it empty to mark it missing)",
        )
    return numbers.to_numpy(dtype=np.float32, na_value=np.nan)


def to_booleans(values: pd.Series, column: str) -> np.ndarray:
    """A true/false column (bools, 0/1, yes/no, true/false) as float32 0/1 (NaN = missing)."""
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        return values.astype("float32").to_numpy(dtype=np.float32, na_value=np.nan)
    mapped = values.astype(str).str.lower().map(TRUE_WORDS)
    bad = mapped.isna() & values.notna()
    if bad.any():
        raise AutoMLError(f"column '{column}' must be true/false but holds {values[bad].iloc[0]!r}", f"fix that value in column '{column}'")
    return mapped.to_numpy(dtype=np.float32, na_value=np.nan)


def category_cells(values: pd.Series) -> np.ndarray:
    # Missing becomes its own category; where training had none, it is unseen (one-hot zeros, code 0).
    text = values.astype(str).to_numpy(dtype=object)
    text[values.isna().to_numpy()] = MISSING_CATEGORY
    return text.reshape(-1, 1)


def distinct_categories(values: pd.Series, keep_missing: bool = True) -> np.ndarray:
    present = values.dropna().astype(str).unique()
    distinct = list(present) + ([MISSING_CATEGORY] if keep_missing and values.isna().any() else [])
    return np.array(distinct, dtype=object).reshape(-1, 1)


def text_cells(values: pd.Series) -> np.ndarray:
    return values.fillna("").astype(str).to_numpy(dtype=object)

