"""Data preparation for the unsupervised tasks (``cluster``, ``generate``): no target.

Kept apart from ``prepare.py``'s supervised path on purpose: every column is a feature, except
a ``--target`` column (or a built-in dataset's label), which is set aside unused so that known
labels never leak into clustering or generation. Splits are random (nothing to stratify on);
preprocessing is fitted on the training split only, as for the supervised tasks.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from automl.config import DataConfig
from automl.data.columns import ColumnSpace
from automl.data.prepared import PreparedData, preview_columns
from automl.data.preprocess import FeaturePreprocessor
from automl.data.profile import as_pixels, decisions_as_dicts, profile_columns
from automl.data.split import split_rows
from automl.errors import AutoMLError


class NoTarget:
    """Stands in for the target encoder where there is no target: no outputs, nothing to decode."""

    output_size = 0


def prepare_unlabelled(frame: pd.DataFrame, name: str, set_aside: str | None, config: DataConfig):
    """The three splits of a table without a target, with preprocessing fitted on train only."""
    if set_aside is not None and set_aside not in frame.columns:
        raise AutoMLError(f"column '{set_aside}' is not in the data", f"use one of: {preview_columns(frame.columns)}")
    features = frame.drop(columns=[set_aside]) if set_aside is not None else frame
    if features.shape[1] == 0:
        raise AutoMLError("the data has no feature columns", "add feature columns")
    splits = split_rows(pd.Series(np.zeros(len(frame)), name="row"), config.task, config.val_fraction,
                        config.test_fraction, config.seed)
    train_features = features.iloc[splits.train]
    decisions = profile_columns(train_features)
    if config.image_shape:
        decisions = as_pixels(decisions)
    preprocessor = FeaturePreprocessor(config.imputer, config.scaler, config.clip_quantile).fit(train_features, decisions)
    if config.task == "generate":
        preprocessor.check_invertible()  # before any training: generated rows must map back to columns
    X_train, X_val, X_test = (preprocessor.transform(features.iloc[rows]) for rows in (splits.train, splits.val, splits.test))
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
        "task": config.task,
        "input_kind": input_kind,
        "column_set_aside": set_aside,
        "numeric_columns": preprocessor.numeric_columns_,
        "categorical_columns": preprocessor.categorical_columns_,
        "columns": decisions_as_dicts(preprocessor.decisions_),
        "split_rows": {"train": len(splits.train), "val": len(splits.val), "test": len(splits.test)},
    }

    def no_targets(rows) -> np.ndarray:
        return np.zeros(len(rows), dtype=np.float32)

    reshape = lambda matrix: matrix.reshape((len(matrix), *input_shape))  # noqa: E731
    return PreparedData(
        name, config.task, input_kind, input_shape, set_aside or "",
        reshape(X_train), no_targets(splits.train), reshape(X_val), no_targets(splits.val),
        reshape(X_test), no_targets(splits.test), preprocessor, NoTarget(), report,
        column_space=ColumnSpace.fit(train_features, preprocessor),
    )
