"""Class imbalance: the ``--class-weights`` vector, computed on the rows a model fits on.

That is the training split for a hold-out trial and for the refit; with cross-validation,
each fold's fit rows for that fold's model (its validation rows never count). Trials and the
refit hand it to the loss builder as the ``class_weights`` fact (see ``automl/hookspecs.py``);
the loss applies it, once.
"""

from __future__ import annotations

import numpy as np


def class_weights(y_train: np.ndarray, n_classes: int, mode: str = "balanced") -> np.ndarray | None:
    """``n / (k * count_c)`` per class (scikit-learn's "balanced"), or ``None`` for ``mode="none"``."""
    if mode == "none":
        return None
    counts = np.bincount(np.asarray(y_train, dtype=np.int64), minlength=n_classes).astype(np.float64)
    weights = np.where(counts > 0, counts.sum() / (n_classes * np.maximum(counts, 1)), 0.0)
    return weights.astype(np.float32)
