"""Tabular feature preprocessing and target encoding: scikit-learn transformers fitted on the
training split only and applied unchanged to validation, test and prediction data.

The feature matrix is laid out block by block, each block a scikit-learn transformer fitted on
the training rows:

  numeric values (numbers, booleans, date parts) ─ SimpleImputer → [QuantileClipper] → scaler
  missing indicators                              ─ MissingIndicator (columns missing in train)
  low-cardinality categories                      ─ OneHotEncoder (unseen categories → all zero)
  free-text columns in a table                    ─ CountVectorizer (bag of words)
  high-cardinality categories                     ─ OrdinalEncoder, code 0 = unseen or missing;
                                                    always the last columns (``embedding_cardinalities_``)

Blocks are fitted and applied separately rather than through one ColumnTransformer because
ColumnTransformer.fit materialises the whole transformed training matrix; here it is written
chunk by chunk into one preallocated float32 array, which keeps memory near the output size.

``inverse_transform`` maps matrix rows back to columns (numeric, boolean and categorical ones;
dates, text and embedding codes lose too much to be rebuilt), for generated rows.

Raw cells become the numbers, categories and texts these transformers read in
:mod:`automl.data.column_values`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, OrdinalEncoder, RobustScaler, StandardScaler

from automl.data.column_values import (
    MISSING_CATEGORY,
    as_datetimes,
    category_cells,
    distinct_categories,
    numeric_matrix,
    text_cells,
)
from automl.data.profile import ColumnDecision, RowView, profile_columns
from automl.variants import IMPUTERS
from automl.errors import AutoMLError

SCALERS = {"standard": StandardScaler, "robust": RobustScaler, "minmax": MinMaxScaler, "none": None}
DATETIME_PARTS = ("year", "month", "day", "dayofweek", "hour", "minute")
TEXT_FEATURES_PER_COLUMN = 32
CHUNK_ROWS = 65_536
NUMERIC_GROUP = 8


class QuantileClipper(TransformerMixin, BaseEstimator):
    """Clip each column to its ``[quantile, 1 - quantile]`` range on the training data (outliers)."""

    def __init__(self, quantile: float = 0.01) -> None:
        self.quantile = quantile

    def fit(self, X, y=None) -> "QuantileClipper":
        X = np.asarray(X)
        self.low_, self.high_ = np.nanquantile(X, [self.quantile, 1 - self.quantile], axis=0).astype(X.dtype)
        return self

    def transform(self, X) -> np.ndarray:
        return np.clip(np.asarray(X), self.low_, self.high_)


class FeaturePreprocessor:
    """Impute, clip, scale and encode the feature columns of a table into a float32 matrix.

    ``imputer`` (median, mean, most_frequent) and ``scaler`` (standard, robust, minmax, none)
    are search dimensions; ``clip_quantile`` (e.g. 0.01) clips outliers when set.
    """

    def __init__(self, imputer: str = "median", scaler: str = "standard", clip_quantile: float | None = None) -> None:
        if imputer not in IMPUTERS:
            raise AutoMLError(f"unknown imputer '{imputer}'", f"use one of: {', '.join(IMPUTERS)}")
        if scaler not in SCALERS:
            raise AutoMLError(f"unknown scaler '{scaler}'", f"use one of: {', '.join(SCALERS)}")
        if clip_quantile is not None and not 0 < clip_quantile < 0.5:
            raise AutoMLError(f"clip quantile {clip_quantile} is out of range", "pass a quantile between 0 and 0.5, e.g. 0.01")
        self.imputer = imputer
        self.scaler = scaler
        self.clip_quantile = clip_quantile

    # ── fitting ────────────────────────────────────────────────────────────────────────────
    def fit(self, frame: pd.DataFrame | RowView, decisions: list[ColumnDecision] | None = None,
            layout: pd.DataFrame | RowView | None = None) -> "FeaturePreprocessor":
        """Learn every statistic from ``frame`` (the training rows only).

        ``layout`` (default: ``frame``) fixes the matrix's columns: which date parts vary, which
        numbers get a missing indicator, the category and word vocabularies. A cross-validation
        fold passes all training rows there, so every fold's matrix has the same columns (and
        its models can be bagged and exported as one), while the imputer, clipper and scaler
        see the fold's own training rows only.
        """
        layout = frame if layout is None else layout
        self.decisions_ = decisions if decisions is not None else profile_columns(frame)
        kinds = {d.column: d.kind for d in self.decisions_}
        by_kind = lambda *wanted: [c for c in map(str, frame.columns) if kinds.get(c) in wanted]  # noqa: E731
        self.columns_ = by_kind("numeric", "boolean", "datetime", "categorical", "text", "embedding")
        self.numeric_columns_ = by_kind("numeric")
        self.boolean_columns_ = by_kind("boolean")
        self.datetime_columns_ = by_kind("datetime")
        self.categorical_columns_ = by_kind("categorical")
        self.text_columns_ = by_kind("text")
        self.embedding_columns_ = by_kind("embedding")
        self.datetime_parts_ = {c: self._varying_parts(layout[c]) for c in self.datetime_columns_}

        self.numeric_items_ = (
            [(c, "numeric", "") for c in self.numeric_columns_] + [(c, "boolean", "") for c in self.boolean_columns_]
            + [(c, "datetime", p) for c, parts in self.datetime_parts_.items() for p in parts]
        )
        self.numeric_names_ = [f"{c}.{p}" if p else c for c, _, p in self.numeric_items_]
        # Every numeric transformer works per column, so fitting them on groups of columns gives
        # the same statistics while temporaries stay a fraction of the training matrix.
        self.numeric_groups_ = [list(range(i, min(i + NUMERIC_GROUP, len(self.numeric_items_)))) for i in range(0, len(self.numeric_items_), NUMERIC_GROUP)]
        self.numeric_pipelines_, self.missing_indicators_ = [], []
        for group in self.numeric_groups_:
            numbers = numeric_matrix(frame, [self.numeric_items_[i] for i in group])
            self.numeric_pipelines_.append(self._numeric_pipeline().fit(numbers))
            indicator = MissingIndicator(features="missing-only").fit(
                numbers if layout is frame else numeric_matrix(layout, [self.numeric_items_[i] for i in group]))
            self.missing_indicators_.append(indicator if len(indicator.features_) else None)
            del numbers
        # Encoders learn only the set of categories, so fitting them on the distinct values is exact and light.
        self.one_hot_ = {c: OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float32).fit(distinct_categories(layout[c])) for c in self.categorical_columns_}
        self.ordinal_ = {
            c: OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, dtype=np.float32).fit(distinct_categories(layout[c], keep_missing=False))
            for c in self.embedding_columns_
        }
        self.vectorizers_ = {
            c: CountVectorizer(max_features=TEXT_FEATURES_PER_COLUMN, dtype=np.float32).fit(text_cells(layout[c]))
            for c in self.text_columns_
        }
        self.feature_names_ = self._feature_names()
        self.embedding_cardinalities_ = [len(self.ordinal_[c].categories_[0]) + 1 for c in self.embedding_columns_]
        return self

    def _numeric_pipeline(self) -> Pipeline:
        steps = [("impute", SimpleImputer(strategy=self.imputer, keep_empty_features=True))]
        if self.clip_quantile:
            steps.append(("clip", QuantileClipper(self.clip_quantile)))
        if SCALERS[self.scaler] is not None:
            steps.append(("scale", SCALERS[self.scaler]()))
        return Pipeline(steps)

    def _varying_parts(self, values: pd.Series) -> list[str]:
        stamps = as_datetimes(values)
        parts = [p for p in DATETIME_PARTS if getattr(stamps.dt, p).nunique() > 1]
        return parts or ["year"]

    # ── applying ───────────────────────────────────────────────────────────────────────────
    @property
    def output_width(self) -> int:
        return len(self.feature_names_)

    def transform(self, data) -> np.ndarray:
        """The float32 feature matrix for new rows (columns matched by name, extra ones ignored)."""
        frame = self._as_frame(data)
        missing = [c for c in self.columns_ if c not in frame.columns]
        if missing:
            raise AutoMLError(f"required column '{missing[0]}' is missing from the data", f"add column '{missing[0]}' (the model was trained with it)")
        out = np.empty((len(frame), self.output_width), dtype=np.float32)
        for start in range(0, len(frame), CHUNK_ROWS):
            out[start : start + CHUNK_ROWS] = self._transform_chunk(frame.iloc[start : start + CHUNK_ROWS])
        return out

    def _transform_chunk(self, frame: pd.DataFrame) -> np.ndarray:
        frame = frame[self.columns_]
        blocks = []
        numbers = numeric_matrix(frame, self.numeric_items_)
        blocks += [pipeline.transform(numbers[:, group]) for pipeline, group in zip(self.numeric_pipelines_, self.numeric_groups_)]
        blocks += [
            indicator.transform(numbers[:, group])
            for indicator, group in zip(self.missing_indicators_, self.numeric_groups_) if indicator is not None
        ]
        for column, encoder in self.one_hot_.items():
            blocks.append(encoder.transform(category_cells(frame[column])))
        for column, vectorizer in self.vectorizers_.items():
            blocks.append(vectorizer.transform(text_cells(frame[column])).toarray())
        for column, encoder in self.ordinal_.items():
            blocks.append(encoder.transform(category_cells(frame[column])) + 1)
        if not blocks:
            return np.empty((len(frame), 0), dtype=np.float32)
        return np.hstack([np.asarray(b, dtype=np.float32) for b in blocks])

    def _as_frame(self, data) -> pd.DataFrame:
        if isinstance(data, pd.DataFrame):
            return data if all(isinstance(c, str) for c in data.columns) else data.rename(columns=str)
        array = np.asarray(data)
        if array.ndim != 2 or array.shape[1] != len(self.input_columns_):
            raise AutoMLError(f"the model expects a table with columns {self.input_columns_[:8]}", "pass a DataFrame or CSV with those columns")
        return pd.DataFrame(array, columns=self.input_columns_)

    # ── inverting: feature matrix → columns ───────────────────────────────────────────────
    def check_invertible(self) -> None:
        """Raise ``AutoMLError`` unless :meth:`inverse_transform` can rebuild every used column."""
        lossy = self.datetime_columns_ + self.text_columns_ + self.embedding_columns_
        if lossy:
            raise AutoMLError(
                f"column '{lossy[0]}' is a date, free text or a high-cardinality category, which generated rows cannot be turned back into",
                "drop the date, text and high-cardinality columns for --task generate (numbers, booleans and categories work)",
            )

    def inverse_transform(self, matrix: np.ndarray) -> pd.DataFrame:
        """Feature matrix rows → the used input columns, in input order.

        Numeric and boolean columns come back unscaled as floats (booleans near 0/1; nothing is
        clipped or rounded), categorical columns as the label of their largest one-hot value
        (the missing category as NaN); missing-indicator columns are ignored. Date, text and
        embedding columns raise ``AutoMLError`` (see :meth:`check_invertible`).
        """
        self.check_invertible()
        matrix = np.asarray(matrix, dtype=np.float64).reshape(len(matrix), -1)
        if matrix.shape[1] != self.output_width:
            raise AutoMLError(f"rows hold {matrix.shape[1]} feature values, the preprocessing {self.output_width}", "pass rows of the fitted feature width")
        out: dict[str, np.ndarray] = {}
        for pipeline, group in zip(self.numeric_pipelines_, self.numeric_groups_):
            block = matrix[:, group]
            # The imputer and the clipper have nothing to undo on numbers the scaler produced.
            values = pipeline.named_steps["scale"].inverse_transform(block) if "scale" in pipeline.named_steps else block
            out.update((self.numeric_items_[i][0], values[:, j]) for j, i in enumerate(group))
        offset = len(self.numeric_names_) + len(self.missing_indicator_names_)  # one-hot blocks follow these
        for column, encoder in self.one_hot_.items():
            labels = encoder.categories_[0]
            chosen = labels[matrix[:, offset : offset + len(labels)].argmax(axis=1)].astype(object)
            chosen[chosen == MISSING_CATEGORY] = np.nan
            out[column] = chosen
            offset += len(labels)
        return pd.DataFrame({c: out[c] for c in self.columns_})

    @property
    def input_columns_(self) -> list[str]:
        return [d.column for d in self.decisions_]

    # ── naming and summary ─────────────────────────────────────────────────────────────────
    def _feature_names(self) -> list[str]:
        names = list(self.numeric_names_) + [f"{name}.missing" for name in self.missing_indicator_names_]
        for column, encoder in self.one_hot_.items():
            names += [f"{column}={v}" for v in encoder.categories_[0]]
        for column, vectorizer in self.vectorizers_.items():
            names += [f"{column}:{w}" for w in vectorizer.get_feature_names_out()]
        return names + [f"{c}.code" for c in self.embedding_columns_]

    @property
    def missing_indicator_names_(self) -> list[str]:
        """The numeric features that get a missing-indicator column (those missing somewhere in train)."""
        return [
            self.numeric_names_[group[i]]
            for indicator, group in zip(self.missing_indicators_, self.numeric_groups_) if indicator is not None
            for i in indicator.features_
        ]

    def summary(self) -> dict:
        """What was fitted, for the data report."""
        return {
            "imputer": self.imputer,
            "scaler": self.scaler,
            "clip_quantile": self.clip_quantile,
            "output_features": self.output_width,
            "missing_indicators": self.missing_indicator_names_,
            "embedding_cardinalities": dict(zip(self.embedding_columns_, self.embedding_cardinalities_)),
        }


class LabelSetEncoder:
    """Several 0/1 target columns (``multilabel``) ↔ a float indicator matrix, one column per label."""

    by_class = False  # labels are 0/1 columns, not the classes of one column: no --class-weights

    def fit(self, targets: pd.DataFrame) -> "LabelSetEncoder":
        self.classes_ = np.array([str(c) for c in targets.columns], dtype=object)
        self.encode(targets)
        return self

    @property
    def output_size(self) -> int:
        return len(self.classes_)

    def encode(self, targets: pd.DataFrame) -> np.ndarray:
        for column in targets.columns:
            values = targets[column]
            if values.isna().any() or not values.isin([0, 1]).all():
                raise AutoMLError(f"target column '{column}' holds values other than 0 and 1",
                                  "give each label column 0/1 (or true/false) values and no missing ones")
        return targets.to_numpy(dtype=np.float32)

    def decode(self, indicators: np.ndarray) -> np.ndarray:
        return np.asarray(indicators, dtype=np.int64)

    def for_fold(self, fit_targets: pd.DataFrame) -> "LabelSetEncoder":
        """A cross-validation fold's encoder: this one (0/1 labels need no fitting)."""
        return self

    def output_map_to(self, other: "LabelSetEncoder") -> None:
        """Every fold encodes the labels alike: no map between them (see :meth:`TargetEncoder.output_map_to`)."""
        return None


class TargetEncoder:
    """Class labels ↔ indices for classification; standardization for regression.

    ``task`` is the task's name (kept in the saved artifact); whether it encodes classes is
    the task's ``is_classification``, given to :meth:`fit` (a fitted encoder of classes has
    ``classes_``, one of values ``mean_`` and ``std_``)."""

    def __init__(self, task: str) -> None:
        self.task = task

    @property
    def by_class(self) -> bool:
        """Whether this fitted encoder maps class labels to indices (else it standardizes values)."""
        return hasattr(self, "classes_")

    def fit(self, target: pd.Series, by_class: bool) -> "TargetEncoder":
        target = pd.Series(target)
        if by_class:
            self.classes_ = np.array(sorted(target.unique(), key=lambda v: (str(type(v)), v)))
            self.index_ = {c: i for i, c in enumerate(self.classes_)}
        else:
            values = target.to_numpy(dtype=float)
            self.mean_, self.std_ = float(values.mean()), float(values.std() or 1.0)
        return self

    def for_fold(self, fit_target: pd.Series) -> "TargetEncoder":
        """The encoder of a cross-validation fold whose fit rows hold ``fit_target``.

        Regression standardizes by the fit rows' own mean and std, as the fold's features are
        scaled, so a fold never learns from its validation rows. Classes keep this encoder's
        indices: every fold's outputs must mean the same classes, and a fold's fit rows may
        lack one.
        """
        if self.by_class:
            return self
        return TargetEncoder(self.task).fit(fit_target, by_class=False)

    def output_map_to(self, other: "TargetEncoder") -> tuple[float, float] | None:
        """``(a, b)`` such that ``a * encoded + b`` is the same value in ``other``'s encoding, or
        ``None`` where the two encode alike (classes)."""
        if self.by_class:
            return None
        return self.std_ / other.std_, (self.mean_ - other.mean_) / other.std_

    @property
    def output_size(self) -> int:
        return len(self.classes_) if self.by_class else 1

    def encode(self, target) -> np.ndarray:
        target = pd.Series(target)
        if self.by_class:
            unknown = [v for v in target.unique() if v not in self.index_]
            if unknown:
                raise AutoMLError(
                    f"target class {unknown[0]!r} does not occur in the training split",
                    "give every class rows in the training data (or remove that class)",
                )
            return target.map(self.index_).to_numpy(dtype=np.int64)
        try:
            values = pd.to_numeric(target, errors="raise").to_numpy(dtype=float)
        except (ValueError, TypeError):
            raise AutoMLError(f"regression target '{target.name}' holds values that are not numbers", "clean the target column") from None
        return ((values - self.mean_) / self.std_).astype(np.float32).reshape(-1, 1)

    def decode(self, encoded: np.ndarray) -> np.ndarray:
        if self.by_class:
            return self.classes_[np.asarray(encoded, dtype=int)]
        return np.asarray(encoded, dtype=float).reshape(-1) * self.std_ + self.mean_
