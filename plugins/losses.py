"""Built-in losses: cross-entropy for classification, MSE for regression."""

from __future__ import annotations

from torch import nn

from automl import hookimpl
from automl.components import LossSpec


@hookimpl
def automl_losses():
    return [
        LossSpec(
            name="cross_entropy",
            build=lambda label_smoothing=0.0: nn.CrossEntropyLoss(label_smoothing=label_smoothing),
            tasks=("binary", "multiclass"),
            space={"label_smoothing": {"choice": [0.0, 0.1]}},
            description="softmax cross-entropy, optional label smoothing",
        ),
        LossSpec(
            name="mse",
            build=lambda: nn.MSELoss(),
            tasks=("regression",),
            description="mean squared error",
        ),
    ]
