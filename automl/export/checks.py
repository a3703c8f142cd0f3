"""The check of a traced module: does it predict what the saved model predicts on varied sample rows?"""

import numpy as np
import pandas as pd
import torch

from automl.export.capture import _first_line

# A traced module is checked on this many sample rows: not the 3 it was traced on, so a batch
# size frozen into the graph shows too.
CHECK_ROWS = 16
# How close a traced module's outputs must be to the saved model's (float32 arithmetic in another
# order): probabilities absolutely, values absolutely in standard deviations of the target.
ABSOLUTE_TOLERANCE = 1e-4
RELATIVE_TOLERANCE = 1e-3


def predictor_difference(captured, predictor, rows, inputs: tuple, tolerance: float) -> str:
    """How ``captured`` (called on ``inputs``, the module's tensors for ``rows``) differs from
    what ``predictor`` answers for ``rows`` (class probabilities, or values), or ``""``."""
    try:
        with torch.no_grad():
            got = np.asarray(captured(*inputs), dtype=np.float64)
    except Exception as exc:
        return f"fails on {len(rows)} sample rows: {_first_line(exc)}"
    task = predictor.task_impl
    expected = predictor.predict_proba(rows) if task is not None and task.has_probabilities else predictor.predict(rows)
    got, expected = got.reshape(len(got), -1), np.asarray(expected, dtype=np.float64).reshape(len(expected), -1)
    if got.shape != expected.shape:
        return f"returns outputs of shape {got.shape} for {len(rows)} sample rows, where `automl predict` gives {expected.shape}"
    apart = ~np.isclose(got, expected, rtol=RELATIVE_TOLERANCE, atol=tolerance).all(axis=1)
    if apart.any():
        gap = np.nanmax(np.where(np.isnan(got - expected), np.inf, np.abs(got - expected)))
        return (f"gives other outputs than `automl predict` on {apart.sum()} of {len(rows)} sample rows "
                f"(largest difference {gap:.3g})")
    return ""


def sample_table_rows(steps: dict, rows: int, seed: int) -> pd.DataFrame:
    """``rows`` varied raw rows for a table model: numbers spread around each column's training
    fill value by its fitted scale (one row all missing), booleans 0/1, categories drawn from the
    training ones (with a missing and an unseen value); seeded."""
    from automl.data.preprocess import MISSING_CATEGORY

    rng = np.random.default_rng(seed)
    frame = {}
    booleans = set(steps["boolean_columns"])
    for j, column in enumerate(steps["numeric_columns"]):
        if column in booleans:
            values = rng.integers(0, 2, rows).astype(float)
        else:
            multiplier = abs(steps["multipliers"][j])
            spread = 1.0 / multiplier if np.isfinite(multiplier) and multiplier > 0 else 1.0
            values = steps["fills"][j] + spread * rng.standard_normal(rows)
        values[0] = np.nan
        frame[column] = values
    for column, categories in zip(steps["categorical_columns"], steps["categories"]):
        seen = [c for c in categories if c != MISSING_CATEGORY] or [None]
        values = rng.choice(np.array(seen, dtype=object), rows).astype(object)
        values[0], values[1 % rows] = None, "(a value unseen in training)"
        frame[column] = values
    return pd.DataFrame(frame)


def sample_arrays(features, rows: int, seed: int) -> np.ndarray:
    """``rows`` varied float32 arrays of the training shape, spread around each channel's
    training mean by its deviation (a few values missing); seeded."""
    rng = np.random.default_rng(seed)
    shape = [1] * (len(features.input_shape_) + 1)
    shape[features.channel_axis] = -1
    mean, std = features.mean_.reshape(shape), features.std_.reshape(shape)
    arrays = (mean + std * rng.standard_normal((rows, *features.input_shape_))).astype(np.float32)
    arrays.reshape(rows, -1)[0, ::7] = np.nan
    return arrays
