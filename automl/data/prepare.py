"""Turn a loaded table into the arrays the trials train on, without leaking evaluation rows."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from automl.components import UNSUPERVISED_TASKS
from automl.config import DataConfig
from automl.data.load import BUILTIN_TARGET, load_table
from automl.data.preprocess import FeaturePreprocessor, TargetEncoder
from automl.data.split import split_rows
from automl.data.task import infer_task
from automl.errors import AutoMLError


@dataclass
class PreparedData:
    """The three splits as arrays, the fitted preprocessing, and what the search needs to know."""

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
    features: FeaturePreprocessor
    target_encoder: TargetEncoder
    report: dict = field(default_factory=dict)
    # The training split's original columns (ranges, dtypes, labels); set for unsupervised tasks.
    column_space: Any = None
    vocab_size: int | None = None  # text input only: token ids are 0 (padding) .. vocab_size - 1

    @property
    def output_size(self) -> int:
        return self.target_encoder.output_size

    def to_model_input(self, matrix: np.ndarray) -> np.ndarray:
        """Reshape a preprocessed feature matrix to the model's input shape."""
        return matrix.reshape((len(matrix), *self.input_shape))


def prepare_data(source, config: DataConfig) -> PreparedData:
    """Load, validate, infer the task, split, and fit preprocessing on the training split only."""
    frame, name = load_table(source)
    target = config.target or (BUILTIN_TARGET if BUILTIN_TARGET in frame.columns and isinstance(source, str) else None)
    if config.task in UNSUPERVISED_TASKS:
        from automl.data.unlabelled import prepare_unlabelled

        return prepare_unlabelled(frame, name, target, config)
    if target is None:
        raise AutoMLError("no target column given", f"pass --target with one of: {_preview(frame.columns)}")
    if target not in frame.columns:
        raise AutoMLError(f"target column '{target}' is not in the data", f"use one of: {_preview(frame.columns)}")
    n_missing_target = int(frame[target].isna().sum())
    frame = frame[frame[target].notna()].reset_index(drop=True)
    if frame.shape[1] < 2:
        raise AutoMLError("the data has no feature columns besides the target", "add feature columns")
    task = infer_task(frame[target], config.task)
    splits = split_rows(frame[target], task, config.val_fraction, config.test_fraction, config.seed)

    features = frame.drop(columns=[target])
    train_features = features.iloc[splits.train]
    preprocessor = FeaturePreprocessor().fit(train_features)
    target_encoder = TargetEncoder(task).fit(frame[target].iloc[splits.train])

    def arrays(rows):
        return preprocessor.transform(features.iloc[rows]), target_encoder.encode(frame[target].iloc[rows])

    (X_train, y_train), (X_val, y_val), (X_test, y_test) = arrays(splits.train), arrays(splits.val), arrays(splits.test)
    input_kind, input_shape = "tabular", (X_train.shape[1],)
    if config.image_shape:
        if math.prod(config.image_shape) != X_train.shape[1]:
            raise AutoMLError(
                f"--image-shape {config.image_shape} holds {math.prod(config.image_shape)} values but the data has "
                f"{X_train.shape[1]} feature values per row",
                "pass C,H,W whose product equals the number of pixel columns",
            )
        input_kind, input_shape = "image", tuple(config.image_shape)
    report = {
        "dataset": name,
        "rows": int(len(frame)),
        "rows_dropped_missing_target": n_missing_target,
        "task": task,
        "input_kind": input_kind,
        "numeric_columns": preprocessor.numeric_columns_,
        "categorical_columns": preprocessor.categorical_columns_,
        "split_rows": {"train": len(splits.train), "val": len(splits.val), "test": len(splits.test)},
    }
    prepared = PreparedData(
        name, task, input_kind, input_shape, target, X_train, y_train, X_val, y_val, X_test, y_test,
        preprocessor, target_encoder, report,
    )
    for split in ("train", "val", "test"):
        setattr(prepared, f"X_{split}", prepared.to_model_input(getattr(prepared, f"X_{split}")))
    return prepared


def _preview(columns: pd.Index, limit: int = 8) -> str:
    names = [str(c) for c in columns[:limit]]
    return ", ".join(names) + (f", … ({len(columns)} columns)" if len(columns) > limit else "")
