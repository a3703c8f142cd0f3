"""Built-in losses: cross-entropy (label smoothing, class weights) and focal for classification;
MSE, MAE and Huber for (standardized) regression targets.

Classification losses accept class indices ``(N,)`` and, from batch transforms such as mixup,
class probabilities ``(N, C)``.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from automl import hookimpl
from automl.components import LossSpec

CLASSIFICATION = ("binary", "multiclass")


def balanced_weights(class_counts: Sequence[int] | None) -> torch.Tensor | None:
    """``n / (C * n_c)`` per class (scikit-learn's "balanced"); absent classes get weight 0."""
    if not class_counts:
        return None
    counts = torch.as_tensor(class_counts, dtype=torch.float32)
    weights = counts.sum() / (len(counts) * counts.clamp(min=1.0))
    return torch.where(counts > 0, weights, torch.zeros_like(weights))


def build_cross_entropy(label_smoothing: float = 0.0, class_weights: str = "none",
                        class_counts: Sequence[int] | None = None) -> nn.CrossEntropyLoss:
    """Cross-entropy; ``class_weights="balanced"`` weighs classes by their inverse training frequency."""
    weight = balanced_weights(class_counts) if class_weights == "balanced" else None
    return nn.CrossEntropyLoss(weight=weight, label_smoothing=label_smoothing)


class FocalLoss(nn.Module):
    """Focal loss (Lin et al., 2017): cross-entropy scaled by ``(1 - p)**gamma`` per class term,
    so confidently right examples count less."""

    def __init__(self, gamma: float = 2.0, weight: torch.Tensor | None = None) -> None:
        super().__init__()
        self.gamma = gamma
        self.register_buffer("weight", weight)

    def forward(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        log_p = F.log_softmax(outputs, dim=1)
        if targets.dtype in (torch.int64, torch.int32):
            targets = F.one_hot(targets, outputs.shape[1]).to(log_p.dtype)
        terms = -targets * (1 - log_p.exp()) ** self.gamma * log_p
        if self.weight is not None:
            terms = terms * self.weight
        return terms.sum(dim=1).mean()


def build_focal(gamma: float = 2.0, class_weights: str = "none", class_counts: Sequence[int] | None = None) -> FocalLoss:
    """Focal loss with optional balanced class weights."""
    return FocalLoss(gamma, balanced_weights(class_counts) if class_weights == "balanced" else None)


@hookimpl
def automl_losses():
    return [
        LossSpec(
            name="cross_entropy", build=build_cross_entropy, tasks=CLASSIFICATION,
            space={"label_smoothing": {"choice": [0.0, 0.1]}, "class_weights": {"choice": ["none", "balanced"]}},
            description="softmax cross-entropy, optional label smoothing and balanced class weights",
        ),
        LossSpec(
            name="focal", build=build_focal, tasks=CLASSIFICATION,
            space={"gamma": {"choice": [1.0, 2.0, 3.0]}, "class_weights": {"choice": ["none", "balanced"]}},
            description="focal loss: down-weights easy examples",
        ),
        LossSpec(name="mse", build=lambda: nn.MSELoss(), tasks=("regression",), description="mean squared error"),
        LossSpec(name="mae", build=lambda: nn.L1Loss(), tasks=("regression",), description="mean absolute error"),
        LossSpec(
            name="huber", build=lambda delta=1.0: nn.HuberLoss(delta=delta), tasks=("regression",),
            space={"delta": {"choice": [0.5, 1.0, 2.0]}},
            description="Huber loss: squared near zero, absolute beyond delta (standardized units)",
        ),
    ]
