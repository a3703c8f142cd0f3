"""The original column space of a table: what each column looked like on the training split,
and the way back from the model's encoded rows to rows a user recognises.

Generated rows come out of a model as scaled numbers and one-hot blocks; ``decode`` inverts the
fitted preprocessing (``FeaturePreprocessor.inverse_transform``) and then keeps every column
within what training showed it: numeric values inside the training minimum and maximum, integer
columns integers, booleans booleans (spelled as in training), categoricals one of the training
labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from automl.data.column_values import TRUE_WORDS


@dataclass(frozen=True)
class NumericColumn:
    """A numeric or boolean column's training range and dtype (ints and bools are rounded back).

    ``labels`` holds a text boolean column's spellings of false and true (``("no", "yes")``).
    """

    name: str
    low: float
    high: float
    dtype: str
    labels: tuple | None = None

    @property
    def is_integer(self) -> bool:
        dtype = pd.api.types.pandas_dtype(self.dtype)  # also pandas' nullable Int64 and boolean
        return self.labels is not None or pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)

    def restore(self, values: np.ndarray) -> pd.Series:
        """Unscaled values → this column: clipped to the training range, rounded, in its dtype."""
        clipped = np.clip(values, self.low, self.high)
        if self.is_integer:
            clipped = np.rint(clipped).astype(np.int64)
        if self.labels is not None:
            return pd.Series(np.asarray(self.labels, dtype=object)[clipped])
        return pd.Series(clipped).astype(self.dtype)


class ColumnSpace:
    """Encoded rows ↔ original columns, for a fitted ``FeaturePreprocessor``."""

    def __init__(self, features, numeric: list[NumericColumn]) -> None:
        self.features = features
        self.numeric = numeric

    @classmethod
    def fit(cls, frame: pd.DataFrame, features) -> "ColumnSpace":
        """Record the training split's ranges and dtypes (``frame`` is the raw training features)."""
        numeric = [_numeric_column(frame[name], name) for name in features.numeric_columns_]
        numeric += [_boolean_column(frame[name], name) for name in features.boolean_columns_]
        return cls(features, numeric)

    @property
    def width(self) -> int:
        """Values per encoded row."""
        return self.features.output_width

    def decode(self, encoded: np.ndarray) -> pd.DataFrame:
        """Encoded rows (any shape ``(N, ...)``) → a DataFrame in the original columns and order.

        Raises ``AutoMLError`` when the table has date, text or high-cardinality columns.
        """
        frame = self.features.inverse_transform(np.asarray(encoded).reshape(len(encoded), -1))
        for column in self.numeric:
            frame[column.name] = column.restore(frame[column.name].to_numpy())
        return frame

    def snap(self, encoded: np.ndarray) -> np.ndarray:
        """Decode and encode again: the rows a user would get, in the model's encoded space."""
        return self.features.transform(self.decode(encoded)).reshape(encoded.shape).astype(np.float32)


def _numeric_column(values: pd.Series, name: str) -> NumericColumn:
    numbers = pd.to_numeric(values, errors="coerce").astype(float)
    low, high = (float(numbers.min()), float(numbers.max())) if numbers.notna().any() else (0.0, 0.0)
    return NumericColumn(name, low, high, str(values.dtype))


def _boolean_column(values: pd.Series, name: str) -> NumericColumn:
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        return NumericColumn(name, 0.0, 1.0, str(values.dtype))
    # Text booleans ("yes"/"no", "True"/"false"): give generated rows the training spelling back.
    spelled = {TRUE_WORDS[str(v).lower()]: v for v in values.dropna().unique()}
    return NumericColumn(name, 0.0, 1.0, "object", labels=(spelled[0.0], spelled[1.0]))
