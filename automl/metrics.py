"""Validation and test metrics, computed with ``sklearn.metrics``, and how scores compare.

:data:`DIRECTIONS` names every metric a built-in task can rank by (``--metric``) with whether
higher (``"max"``) or lower (``"min"``) is better; each task (``automl.tasks``) says which of
them it computes and which ranks by default.
"""

from __future__ import annotations

import warnings

import numpy as np

DIRECTIONS: dict[str, str] = {
    # classification (class indices against logits)
    "accuracy": "max", "balanced_accuracy": "max", "f1_macro": "max", "roc_auc": "max", "log_loss": "min",
    # regression (in the target's own units)
    "rmse": "min", "mae": "min", "r2": "max",
    # cluster: silhouette (-1 .. 1) of the validation rows' clusters, measured on the prepared
    # features (one space for every embedding) or in the embedding itself; reconstruction loss
    "silhouette": "max", "embedding_silhouette": "max", "loss": "min",
    # generate: a classifier two-sample test; |AUC - 0.5| is 0 when generated rows pass for real,
    # and the AUC is folded to max(AUC, 1 - AUC), so an anti-predicted generator ranks as badly
    "c2st_gap": "min", "c2st_auc": "min",
}


def directions(*names: str) -> dict[str, str]:
    """``{name: direction}`` of the named metrics (a task's ``metrics``)."""
    return {name: DIRECTIONS[name] for name in names}


def softmax(outputs: np.ndarray) -> np.ndarray:
    """Class probabilities of logits, row by row."""
    shifted = np.exp(outputs - outputs.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def classification_scores(outputs: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    """Accuracy, balanced accuracy, macro F1, log-loss and ROC AUC (one-vs-rest for more than two
    classes; NaN when a class is missing from ``targets``) of logits against class indices."""
    from sklearn import metrics

    labels = list(range(outputs.shape[1]))
    probabilities, predicted = softmax(outputs.astype(np.float64)), outputs.argmax(axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # classes absent from a small split are expected, not news
        scores = {
            "accuracy": float(metrics.accuracy_score(targets, predicted)),
            "balanced_accuracy": float(metrics.balanced_accuracy_score(targets, predicted)),
            "f1_macro": float(metrics.f1_score(targets, predicted, labels=labels, average="macro", zero_division=0)),
            "log_loss": float(metrics.log_loss(targets, probabilities, labels=labels)),
            "roc_auc": float("nan"),
        }
        if len(np.unique(targets)) == len(labels):
            scores["roc_auc"] = float(
                metrics.roc_auc_score(targets, probabilities[:, 1]) if len(labels) == 2
                else metrics.roc_auc_score(targets, probabilities, multi_class="ovr", labels=labels)
            )
    return scores


def regression_scores(outputs: np.ndarray, targets: np.ndarray, target_scale: float = 1.0) -> dict[str, float]:
    """RMSE and MAE in the target's units (``target_scale``: the training target's standard
    deviation, as outputs and targets are standardized) and R²."""
    from sklearn import metrics

    outputs = outputs.reshape(targets.shape)
    return {
        "rmse": float(np.sqrt(metrics.mean_squared_error(targets, outputs))) * target_scale,
        "mae": float(metrics.mean_absolute_error(targets, outputs)) * target_scale,
        "r2": float(metrics.r2_score(targets, outputs)) if len(targets) > 1 else 0.0,
    }


def multilabel_scores(outputs: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    """Macro F1, exact-match accuracy, macro ROC AUC (NaN when a label is constant in
    ``targets``) and the mean per-label log-loss of logits against a 0/1 indicator matrix."""
    from sklearn import metrics

    truth, predicted = targets.astype(int), (outputs > 0).astype(int)
    probabilities = 1 / (1 + np.exp(-outputs.astype(np.float64)))
    varied = all(len(np.unique(column)) == 2 for column in truth.T)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "f1_macro": float(metrics.f1_score(truth, predicted, average="macro", zero_division=0)),
            "accuracy": float(metrics.accuracy_score(truth, predicted)),
            "roc_auc": float(metrics.roc_auc_score(truth, probabilities, average="macro")) if varied else float("nan"),
            "log_loss": float(np.mean([metrics.log_loss(t, p, labels=[0, 1]) for t, p in zip(truth.T, probabilities.T)])),
        }


def is_better(candidate: float, incumbent: float | None, mode: str) -> bool:
    """Whether ``candidate`` beats ``incumbent`` (``None`` or NaN: nothing yet) in direction ``mode``."""
    if incumbent is None or np.isnan(incumbent):
        return not np.isnan(candidate)
    return candidate > incumbent if mode == "max" else candidate < incumbent
