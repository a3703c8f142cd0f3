"""What the data stage hands on: the three splits as arrays with their fitted preprocessing."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from automl.data.preprocess import TargetEncoder
from automl.variants import variant_key
from automl.errors import AutoMLError


@dataclass
class PreprocessingVariant:
    """One fitted preprocessing choice (imputer × scaler) and the three splits it produced."""

    key: str
    features: Any
    X_train: np.ndarray
    X_val: np.ndarray
    X_test: np.ndarray


@dataclass
class Fold:
    """One cross-validation fold: positions into the training split of the rows it fits on and
    of those it validates on, and everything fitted on its fit rows alone: every preprocessing
    variant (``X_train``, ``X_val``, ``X_test``: its fit rows, its validation rows, the test
    split), the target encoding (a regression target standardized by the fit rows' mean and
    std; ``y_train``, ``y_val``: its fit and validation rows encoded by it) and the
    ``--class-weights`` vector.

    ``output_map`` is ``(a, b)`` such that ``a * output + b`` puts a fold model's output in the
    training split's target encoding (:attr:`PreparedData.target_encoder`, fitted on every
    training row), where out-of-fold outputs and a bag of fold models meet; ``None`` where
    the encodings agree (classes)."""

    train: np.ndarray
    val: np.ndarray
    variants: dict[str, PreprocessingVariant]
    target_encoder: TargetEncoder
    y_train: np.ndarray
    y_val: np.ndarray
    class_weights: np.ndarray | None = None
    output_map: tuple[float, float] | None = None

    def variant(self, choice: dict | None) -> PreprocessingVariant:
        """The fold's variant of a trial config's preprocessing choice (default: the first)."""
        if choice and len(self.variants) > 1:
            return self.variants[variant_key(choice)]
        return next(iter(self.variants.values()))


@dataclass
class PreparedData:
    """The three splits as arrays, the fitted preprocessing, and what the search needs to know.

    ``X_*`` and ``features`` are those of the default preprocessing variant; ``variants`` holds
    every fitted variant by key (``"median/standard"``), see :meth:`with_preprocessing`.
    With ``folds``, ``X_train`` holds every training row (preprocessing fitted on all of them,
    for a refit) and ``X_val`` none.
    ``vocab_size`` is set for text input; ``embedding_cardinalities`` lists, for the last
    columns of a tabular matrix, how many codes each high-cardinality categorical column has.
    """

    name: str
    task: str
    input_kind: str
    input_shape: tuple[int, ...]
    target: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    features: Any
    target_encoder: TargetEncoder
    report: dict = field(default_factory=dict)
    variants: dict[str, PreprocessingVariant] = field(default_factory=dict)
    vocab_size: int | None = None  # text input only: token ids are 0 (padding) .. vocab_size - 1
    embedding_cardinalities: tuple[int, ...] = ()
    class_weights: np.ndarray | None = None
    # The training split's original columns (ranges, dtypes, labels); set for unsupervised tasks.
    column_space: Any = None
    n_clusters: int | None = None  # the cluster count the user fixed (``--n-clusters``); else searched
    # Cross-validation (``--validation cv:K``, or ``auto`` on small tables): the folds of the
    # training split; ``X_val`` is then empty, every training row validates in one fold.
    folds: list[Fold] = field(default_factory=list)
    # The task's output size for this target (``Task.output_size``); ``None``: the target encoder's.
    task_output_size: int | None = None

    @property
    def output_size(self) -> int:
        """The networks' output size: as many as the target encodes values (classes, labels, one
        value), unless the task asks for another (``task_output_size``)."""
        return self.target_encoder.output_size if self.task_output_size is None else self.task_output_size

    def with_preprocessing(self, choice: dict | None) -> "PreparedData":
        """The same data with the arrays and fitted preprocessing of a trial config's choice."""
        if not choice or not self.variants:
            return self
        key = variant_key(choice)
        if key not in self.variants:
            raise AutoMLError(f"preprocessing variant {key} was not prepared", f"use one of: {', '.join(self.variants)}")
        variant = self.variants[key]
        return replace(self, features=variant.features, X_train=variant.X_train, X_val=variant.X_val, X_test=variant.X_test)


def preview_columns(columns: pd.Index, limit: int = 8) -> str:
    names = [str(c) for c in columns[:limit]]
    return ", ".join(names) + (f", … ({len(columns)} columns)" if len(columns) > limit else "")
