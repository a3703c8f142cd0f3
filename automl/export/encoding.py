"""The documented step outside the exported module: raw rows → its ``(numeric, categorical)``
tensors (:func:`encode_rows`), valid example tensors, and ``preprocessing.json``'s account of the
module's inputs."""

import numpy as np
import pandas as pd
import torch

from automl.errors import AutoMLError

MISSING_CODE = -2
# What preprocessing.json says of the rows → tensors step: the same for every member of an ensemble.
ENCODED_ROWS = ("numeric_columns", "boolean_columns", "categorical_columns", "categories")
UNKNOWN_CODE = -1


def table_inputs(steps: dict) -> dict:
    """``preprocessing.json``'s account of a table model's ``forward(numeric, categorical)``."""
    return {
        "how": ("numeric: float32 (N, len(numeric_columns)), booleans as 0/1, NaN where missing; categorical: int64 "
                "(N, len(categorical_columns)), the index of str(value) in categories[j], -2 if missing, "
                "-1 if unseen; output: class probabilities in the order of classes, or target values"),
        **{key: steps[key] for key in ENCODED_ROWS},
    }


def array_inputs(features) -> dict:
    """``preprocessing.json``'s account of an image or sequence model's ``forward(inputs)``."""
    info = {"how": ("inputs: float32 (N, *input_shape), raw values as `automl predict` reads them, NaN where missing; "
                    "output: class probabilities in the order of classes, or target values")}
    if features.columns is not None:
        info["time_step_columns"] = list(features.columns)  # a wide table's columns, in time order
    return info


def example_inputs(steps: dict, rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Valid example tensors (training fill values and missing codes) for tracing and export."""
    numeric = torch.tensor([steps["fills"]] * rows, dtype=torch.float32).reshape(rows, len(steps["fills"]))
    categorical = torch.full((rows, len(steps["fill_codes"])), MISSING_CODE, dtype=torch.int64)
    return numeric, categorical


def encode_rows(frame: pd.DataFrame, preprocessing: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """The documented step outside the exported module: rows → ``(numeric, categorical)`` tensors."""
    from automl.data.column_values import to_booleans, to_numbers

    missing = [c for c in preprocessing["numeric_columns"] + preprocessing["categorical_columns"] if c not in frame.columns]
    if missing:
        raise AutoMLError(f"required column '{missing[0]}' is missing from the data", "add that column")
    booleans = set(preprocessing.get("boolean_columns", []))
    numeric = np.empty((len(frame), len(preprocessing["numeric_columns"])), dtype=np.float32)
    for j, column in enumerate(preprocessing["numeric_columns"]):
        numeric[:, j] = (to_booleans if column in booleans else to_numbers)(frame[column], column)
    codes = np.empty((len(frame), len(preprocessing["categorical_columns"])), dtype=np.int64)
    for j, (column, categories) in enumerate(zip(preprocessing["categorical_columns"], preprocessing["categories"])):
        index = {c: i for i, c in enumerate(categories)}
        codes[:, j] = [MISSING_CODE if pd.isna(v) else index.get(str(v), UNKNOWN_CODE) for v in frame[column]]
    return torch.from_numpy(numeric), torch.from_numpy(codes)
