"""Array inputs (images ``(N, C, H, W)`` and sequences ``(N, T, F)``): per-channel or
per-feature standardization fitted on the training split only, missing values set to the
training mean."""

from __future__ import annotations

import numpy as np
import pandas as pd

from automl.errors import AutoMLError


class ArrayStandardizer:
    """Standardize axis ``channel_axis`` of ``(N, ...)`` arrays with training means and deviations.

    Images standardize per channel (axis 1), sequences per feature (the last axis). A wide table
    (one row per series, ``columns``) is read as a ``(N, T, 1)`` sequence.
    """

    def __init__(self, input_kind: str, columns: list[str] | None = None) -> None:
        self.input_kind = input_kind
        self.columns = columns

    @property
    def channel_axis(self) -> int:
        return 1 if self.input_kind == "image" else -1

    def fit(self, X: np.ndarray) -> "ArrayStandardizer":
        """Learn each channel's (feature's) mean and standard deviation from training arrays."""
        self.input_shape_ = tuple(X.shape[1:])
        channel = self.channel_axis % X.ndim
        axes = tuple(i for i in range(X.ndim) if i != channel)
        self.mean_ = np.nanmean(X, axis=axes, dtype=np.float64).astype(np.float32)
        std = np.nanstd(X, axis=axes, dtype=np.float64)
        self.std_ = np.where(np.isfinite(std) & (std > 0), std, 1.0).astype(np.float32)
        self.mean_ = np.nan_to_num(self.mean_)
        return self

    def _broadcast(self, values: np.ndarray, ndim: int) -> np.ndarray:
        shape = [1] * ndim
        shape[self.channel_axis] = -1
        return values.reshape(shape)

    def transform(self, data) -> np.ndarray:
        """Standardized float32 arrays of the training shape (a wide table for sequences)."""
        X = self.as_array(data)
        if tuple(X.shape[1:]) != self.input_shape_:
            raise AutoMLError(
                f"inputs have shape {tuple(X.shape[1:])} but the model was trained on {self.input_shape_}",
                "pass data of the training shape (same image size and channels, same sequence length)",
            )
        X = (X.astype(np.float32) - self._broadcast(self.mean_, X.ndim)) / self._broadcast(self.std_, X.ndim)
        return np.nan_to_num(X, nan=0.0, copy=False)

    def as_array(self, data) -> np.ndarray:
        if isinstance(data, pd.DataFrame):
            if self.columns is None:
                raise AutoMLError("this model takes arrays, not a table", "pass an .npz file or a folder of images")
            missing = [c for c in self.columns if c not in data.columns]
            if missing:
                raise AutoMLError(f"required column '{missing[0]}' is missing from the data", f"add column '{missing[0]}'")
            return wide_table_to_sequences(data[self.columns])
        return np.asarray(data, dtype=np.float32)

    def summary(self) -> dict:
        return {"standardized": "per channel" if self.input_kind == "image" else "per feature", "input_shape": list(self.input_shape_)}


def wide_table_to_sequences(frame: pd.DataFrame) -> np.ndarray:
    """A wide table (one row per series, one column per time step) as ``(N, T, 1)`` float32."""
    out = np.empty((len(frame), frame.shape[1], 1), dtype=np.float32)
    for i, column in enumerate(frame.columns):
        numbers = pd.to_numeric(frame[column], errors="coerce")
        bad = numbers.isna() & frame[column].notna()
        if bad.any():
            raise AutoMLError(f"column '{column}' of the series table holds {frame[column][bad].iloc[0]!r}", "every time-step column must hold numbers")
        out[:, i, 0] = numbers.to_numpy(dtype=np.float32, na_value=np.nan)
    return out
