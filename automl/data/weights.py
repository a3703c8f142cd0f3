"""Class imbalance: class weights computed on the training split, and a loss wrapper that
applies them to any mean-reduced classification loss."""

from __future__ import annotations

import numpy as np

CLASS_WEIGHT_MODES = ("none", "balanced")


def class_weights(y_train: np.ndarray, n_classes: int, mode: str = "balanced") -> np.ndarray | None:
    """``n / (k * count_c)`` per class (scikit-learn's "balanced"), or ``None`` for ``mode="none"``."""
    if mode == "none":
        return None
    counts = np.bincount(np.asarray(y_train, dtype=np.int64), minlength=n_classes).astype(np.float64)
    weights = np.where(counts > 0, counts.sum() / (n_classes * np.maximum(counts, 1)), 0.0)
    return weights.astype(np.float32)


class ClassWeightedLoss:
    """Weight each sample's loss by its class weight: ``Σ w_y l / Σ w_y`` over the batch.

    Works with any loss that averages over the batch: the loss is taken per class present in
    the batch and recombined with weight ``w_c · n_c``, which equals the per-sample weighted mean.
    """

    def __init__(self, loss, weights: np.ndarray) -> None:
        self.loss = loss
        self.weights = [float(w) for w in weights]

    def __call__(self, outputs, targets):
        total, norm = 0.0, 0.0
        for label in targets.unique().tolist():
            mask = targets == label
            share = self.weights[int(label)] * int(mask.sum())
            total = total + self.loss(outputs[mask], targets[mask]) * share
            norm += share
        return total / max(norm, 1e-12)
