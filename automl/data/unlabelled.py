"""Data preparation for the tasks without a target column (``Task.target_kind``: no target, or several label columns).

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
from automl.data.preprocess import FeaturePreprocessor, LabelSetEncoder
from automl.data.profile import as_pixels, decisions_as_dicts, profile_columns
from automl.data.split import split_rows
from automl.errors import AutoMLError


class NoTarget:
    """Stands in for the target encoder where there is no target: no outputs, nothing to decode."""

    output_size = 0


def prepare_unlabelled(frame: pd.DataFrame, name: str, set_aside: str | None, config: DataConfig, labels: bool = False,
                       makes_rows: bool = False):
    """The three splits of a table without a target, with preprocessing fitted on train only.

    ``makes_rows``: the task's models generate rows (``Task.makes_rows``), so the preprocessing
    must map encoded rows back to the columns, which is checked before any training.

    With ``labels`` (task ``multilabel``), the ``set_aside`` columns (``"a,b,c"``) are the
    targets instead: one 0/1 label each, encoded by :class:`LabelSetEncoder`. Either way the
    rows are split at random (there is no single column to stratify on).
    """
    columns = set_aside.split(",") if set_aside else []
    for column in columns:
        if column not in frame.columns:
            raise AutoMLError(f"column '{column}' is not in the data", f"use one of: {preview_columns(frame.columns)}")
    if labels and len(columns) < 2:
        raise AutoMLError("task multilabel needs two or more target columns", "pass --target a,b,c")
    features = frame.drop(columns=columns)
    if features.shape[1] == 0:
        raise AutoMLError("the data has no feature columns", "add feature columns")
    splits = split_rows(pd.Series(np.zeros(len(frame)), name="row"), False, config.val_fraction,
                        config.test_fraction, config.seed)
    train_features = features.iloc[splits.train]
    decisions = profile_columns(train_features)
    if config.image_shape:
        decisions = as_pixels(decisions)
    preprocessor = FeaturePreprocessor(config.imputer, config.scaler, config.clip_quantile).fit(train_features, decisions)
    if makes_rows:
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
        ("targets" if labels else "column_set_aside"): columns if labels else set_aside,
        "numeric_columns": preprocessor.numeric_columns_,
        "categorical_columns": preprocessor.categorical_columns_,
        "columns": decisions_as_dicts(preprocessor.decisions_),
        "split_rows": {"train": len(splits.train), "val": len(splits.val), "test": len(splits.test)},
    }

    encoder = LabelSetEncoder().fit(frame[columns].iloc[splits.train]) if labels else NoTarget()

    def no_targets(rows) -> np.ndarray:
        return encoder.encode(frame[columns].iloc[rows]) if labels else np.zeros(len(rows), dtype=np.float32)

    reshape = lambda matrix: matrix.reshape((len(matrix), *input_shape))  # noqa: E731
    return PreparedData(
        name, config.task, input_kind, input_shape, set_aside or "",
        reshape(X_train), no_targets(splits.train), reshape(X_val), no_targets(splits.val),
        reshape(X_test), no_targets(splits.test), preprocessor, encoder, report,
        column_space=None if labels else ColumnSpace.fit(train_features, preprocessor),
    )
