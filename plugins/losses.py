"""Built-in losses: cross-entropy (label smoothing) and focal for classification; MSE, MAE and
Huber for (standardized) regression targets.

Classification losses accept class indices ``(N,)`` and, from batch transforms such as mixup,
class probabilities ``(N, C)``. Both apply the run's ``--class-weights`` (the ``class_weights``
fact) once, as a buffer that moves with ``.to(device)``.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from automl import hookimpl
from automl.components import LossSpec

CLASSIFICATION = ("binary", "multiclass")


def as_weight(class_weights: Sequence[float] | None) -> torch.Tensor | None:
    """The run's class-weight vector (the ``class_weights`` fact) as a float32 tensor, or ``None``."""
    return None if class_weights is None else torch.as_tensor(class_weights, dtype=torch.float32)


def build_cross_entropy(label_smoothing: float = 0.0, class_weights: Sequence[float] | None = None) -> nn.CrossEntropyLoss:
    """Cross-entropy, weighted by the run's ``class_weights`` when ``--class-weights balanced``."""
    return nn.CrossEntropyLoss(weight=as_weight(class_weights), label_smoothing=label_smoothing)


class FocalLoss(nn.Module):
    """Focal loss (Lin et al., 2017): cross-entropy scaled by ``(1 - p)**gamma`` per class term,
    so confidently right examples count less.

    Class weights reduce as ``torch.nn.CrossEntropyLoss(weight=...)`` does, so ``gamma=0`` is
    exactly weighted cross-entropy: class indices give ``Σ w_y l / Σ w_y``, class probabilities
    ``Σ_n Σ_c w_c l_nc / N``.
    """

    def __init__(self, gamma: float = 2.0, weight: torch.Tensor | None = None) -> None:
        super().__init__()
        self.gamma = gamma
        self.register_buffer("weight", weight)

    def forward(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        log_p = F.log_softmax(outputs, dim=1)
        hard = not targets.is_floating_point()
        probabilities = F.one_hot(targets.long(), outputs.shape[1]).to(log_p.dtype) if hard else targets
        terms = -probabilities * (1 - log_p.exp()) ** self.gamma * log_p
        if self.weight is None:
            return terms.sum(dim=1).mean()
        per_row = (terms * self.weight).sum(dim=1)
        if hard:
            return per_row.sum() / self.weight[targets].sum()
        return per_row.mean()


def build_focal(gamma: float = 2.0, class_weights: Sequence[float] | None = None) -> FocalLoss:
    """Focal loss, weighted by the run's ``class_weights`` when ``--class-weights balanced``."""
    return FocalLoss(gamma, as_weight(class_weights))


@hookimpl
def automl_losses():
    return [
        LossSpec(
            name="cross_entropy", build=build_cross_entropy, tasks=CLASSIFICATION,
            space={"label_smoothing": {"choice": [0.0, 0.1]}},
            description="softmax cross-entropy, optional label smoothing; applies --class-weights",
        ),
        LossSpec(
            name="focal", build=build_focal, tasks=CLASSIFICATION,
            space={"gamma": {"choice": [1.0, 2.0, 3.0]}},
            description="focal loss: down-weights easy examples; applies --class-weights",
        ),
        LossSpec(name="mse", build=lambda: nn.MSELoss(), tasks=("regression",), description="mean squared error"),
        LossSpec(name="mae", build=lambda: nn.L1Loss(), tasks=("regression",), description="mean absolute error"),
        LossSpec(
            name="huber", build=lambda delta=1.0: nn.HuberLoss(delta=delta), tasks=("regression",),
            space={"delta": {"choice": [0.5, 1.0, 2.0]}},
            description="Huber loss: squared near zero, absolute beyond delta (standardized units)",
        ),
    ]
