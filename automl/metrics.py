"""Validation and test metrics per task, and which one ranks the trials."""

from __future__ import annotations

import numpy as np

from automl.components import CLASSIFICATION_TASKS


UNSUPERVISED_RANKING = {
    # Silhouette of the clustered validation embeddings: -1 (wrong) .. 1 (tight, well apart).
    "cluster": ("silhouette", "max"),
    # |AUC - 0.5| of a classifier telling generated rows from held-out real ones: 0 is best.
    "generate": ("c2st_gap", "min"),
}


def ranking_metric(task: str) -> tuple[str, str]:
    """``(metric name, "max" | "min")`` used to rank trials for a task."""
    if task in UNSUPERVISED_RANKING:
        return UNSUPERVISED_RANKING[task]
    return ("accuracy", "max") if task in CLASSIFICATION_TASKS else ("rmse", "min")


def score(task: str, outputs: np.ndarray, targets: np.ndarray, target_scale: float = 1.0) -> dict[str, float]:
    """Metrics of model outputs against encoded targets.

    Regression outputs and targets are standardized; ``target_scale`` (the training target's
    standard deviation) brings RMSE and MAE back to the target's own units.
    """
    if task in CLASSIFICATION_TASKS:
        predicted = outputs.argmax(axis=1)
        metrics = {"accuracy": float((predicted == targets).mean())}
        if task == "binary":
            from sklearn.metrics import roc_auc_score

            shifted = outputs - outputs.max(axis=1, keepdims=True)
            probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
            if len(np.unique(targets)) == 2:
                metrics["roc_auc"] = float(roc_auc_score(targets, probs[:, 1]))
        return metrics
    errors = (outputs.reshape(targets.shape) - targets) * target_scale
    total = ((targets - targets.mean()) ** 2).sum()
    return {
        "rmse": float(np.sqrt((errors**2).mean())),
        "mae": float(np.abs(errors).mean()),
        "r2": float(1 - ((errors / target_scale) ** 2).sum() / total) if total > 0 else 0.0,
    }


def is_better(candidate: float, incumbent: float | None, mode: str) -> bool:
    if incumbent is None or np.isnan(incumbent):
        return not np.isnan(candidate)
    return candidate > incumbent if mode == "max" else candidate < incumbent
