"""Feature and target preprocessing: scikit-learn transformers fitted on the training split only
and applied unchanged to validation, test and prediction data."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from automl.components import CLASSIFICATION_TASKS
from automl.errors import AutoMLError


class FeaturePreprocessor:
    """Impute, scale and one-hot encode the feature columns of a table into a float32 matrix."""

    def __init__(self) -> None:
        self.columns_: list[str] = []
        self.numeric_columns_: list[str] = []
        self.categorical_columns_: list[str] = []
        self.transformer_: ColumnTransformer | None = None

    def fit(self, frame: pd.DataFrame) -> "FeaturePreprocessor":
        self.columns_ = list(frame.columns)
        self.numeric_columns_ = [c for c in frame.columns if _is_numeric(frame[c])]
        self.categorical_columns_ = [c for c in frame.columns if c not in self.numeric_columns_]
        numeric = make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler())
        categorical = make_pipeline(
            SimpleImputer(strategy="most_frequent", keep_empty_features=True),
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
        )
        self.transformer_ = ColumnTransformer(
            [("numeric", numeric, self.numeric_columns_), ("categorical", categorical, self.categorical_columns_)],
            sparse_threshold=0.0,
        )
        self.transformer_.fit(self._typed(frame))
        return self

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        missing = [c for c in self.columns_ if c not in frame.columns]
        if missing:
            raise AutoMLError(f"required column '{missing[0]}' is missing from the data", "add that column")
        return self.transformer_.transform(self._typed(frame[self.columns_])).astype(np.float32)

    def _typed(self, frame: pd.DataFrame) -> pd.DataFrame:
        out = {}
        for column in self.numeric_columns_:
            try:
                out[column] = pd.to_numeric(frame[column], errors="raise").astype(float)
            except (ValueError, TypeError):
                bad = frame[column][pd.to_numeric(frame[column], errors="coerce").isna() & frame[column].notna()]
                raise AutoMLError(
                    f"column '{column}' must be numeric but holds {bad.iloc[0]!r}",
                    "fix or remove that value",
                ) from None
        for column in self.categorical_columns_:
            values = frame[column]
            out[column] = values.map(str, na_action="ignore").astype(object).where(values.notna(), np.nan)
        return pd.DataFrame(out, index=frame.index)[self.numeric_columns_ + self.categorical_columns_]


class TargetEncoder:
    """Class labels ↔ indices for classification; standardization for regression."""

    def __init__(self, task: str) -> None:
        self.task = task

    def fit(self, target: pd.Series) -> "TargetEncoder":
        if self.task in CLASSIFICATION_TASKS:
            self.classes_ = np.array(sorted(target.unique(), key=lambda v: (str(type(v)), v)))
            self.index_ = {c: i for i, c in enumerate(self.classes_)}
        else:
            values = target.to_numpy(dtype=float)
            self.mean_, self.std_ = float(values.mean()), float(values.std() or 1.0)
        return self

    @property
    def output_size(self) -> int:
        return len(self.classes_) if self.task in CLASSIFICATION_TASKS else 1

    def encode(self, target: pd.Series) -> np.ndarray:
        if self.task in CLASSIFICATION_TASKS:
            return np.array([self.index_[v] for v in target], dtype=np.int64)
        return ((target.to_numpy(dtype=float) - self.mean_) / self.std_).astype(np.float32).reshape(-1, 1)

    def decode(self, encoded: np.ndarray) -> np.ndarray:
        if self.task in CLASSIFICATION_TASKS:
            return self.classes_[np.asarray(encoded, dtype=int)]
        return np.asarray(encoded, dtype=float).reshape(-1) * self.std_ + self.mean_


def _is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)
