"""The original column space of a table: what each column looked like on the training split,
and the way back from the model's encoded rows to rows a user recognises.

Generated rows come out of a model as standardized numbers and one-hot blocks; ``decode``
inverts the fitted preprocessing and then keeps every column within what training showed it:
numeric values inside the training minimum and maximum, integer columns integers, booleans
booleans, categoricals one of the training labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class NumericColumn:
    """A numeric column's training range and its dtype (ints and bools are rounded back)."""

    name: object
    low: float
    high: float
    dtype: str

    @property
    def is_integer(self) -> bool:
        dtype = pd.api.types.pandas_dtype(self.dtype)  # also pandas' nullable Int64 and boolean
        return pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)


class ColumnSpace:
    """Encoded rows ↔ original columns, for a fitted ``FeaturePreprocessor``.

    The encoded layout is the preprocessor's: standardized numeric columns first, then one
    one-hot block per categorical column.
    """

    def __init__(self, features, numeric: list[NumericColumn], categories: dict[object, list[str]]) -> None:
        self.features = features
        self.numeric = numeric
        self.categories = categories

    @classmethod
    def fit(cls, frame: pd.DataFrame, features) -> "ColumnSpace":
        """Record the training split's ranges and dtypes (``frame`` is the raw training features)."""
        numeric = []
        for name in features.numeric_columns_:
            values = pd.to_numeric(frame[name], errors="coerce").astype(float)
            low, high = (float(values.min()), float(values.max())) if values.notna().any() else (0.0, 0.0)
            numeric.append(NumericColumn(name, low, high, str(frame[name].dtype)))
        encoders = _category_encoders(features)
        categories = {
            name: [str(c) for c in encoder_categories]
            for name, encoder_categories in zip(features.categorical_columns_, encoders)
        }
        return cls(features, numeric, categories)

    @property
    def width(self) -> int:
        """Values per encoded row."""
        return len(self.numeric) + sum(len(c) for c in self.categories.values())

    def decode(self, encoded: np.ndarray) -> pd.DataFrame:
        """Encoded rows (any shape ``(N, ...)``) → a DataFrame in the original columns and order."""
        matrix = np.asarray(encoded, dtype=np.float64).reshape(len(encoded), -1)
        out: dict[object, pd.Series] = {}
        if self.numeric:
            values = _numeric_scaler(self.features).inverse_transform(matrix[:, : len(self.numeric)])
            for i, column in enumerate(self.numeric):
                clipped = np.clip(values[:, i], column.low, column.high)
                if column.is_integer:
                    clipped = np.rint(clipped).astype(np.int64)
                out[column.name] = pd.Series(clipped).astype(column.dtype)
        offset = len(self.numeric)
        for name, labels in self.categories.items():
            block = matrix[:, offset : offset + len(labels)]
            out[name] = pd.Series(np.asarray(labels, dtype=object)[block.argmax(axis=1)])
            offset += len(labels)
        return pd.DataFrame(out)[list(self.features.columns_)]

    def snap(self, encoded: np.ndarray) -> np.ndarray:
        """Decode and encode again: the rows a user would get, in the model's encoded space."""
        return self.features.transform(self.decode(encoded)).reshape(encoded.shape).astype(np.float32)


# The two places that know the FeaturePreprocessor's internals (a ColumnTransformer whose
# "numeric" pipeline ends in a scaler and whose "categorical" pipeline ends in a OneHotEncoder).


def _numeric_scaler(features):
    return features.transformer_.named_transformers_["numeric"][-1]


def _category_encoders(features) -> list:
    if not features.categorical_columns_:
        return []
    return list(features.transformer_.named_transformers_["categorical"][-1].categories_)
