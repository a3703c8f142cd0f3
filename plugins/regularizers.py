"""Built-in regularizers: dropout (a model transform) and L2 (a loss penalty)."""

from __future__ import annotations

import torch
from torch import nn

from automl import hookimpl
from automl.components import Regularizer, RegularizerSpec

ACTIVATION_TYPES = (nn.ReLU, nn.GELU, nn.Tanh, nn.SiLU, nn.LeakyReLU, nn.ELU, nn.Sigmoid)


class Dropout(Regularizer):
    """Adds dropout after every activation of the model."""

    def __init__(self, p: float = 0.2):
        self.p = p

    def transform_model(self, model: nn.Module) -> nn.Module:
        for parent in list(model.modules()):
            for name, child in list(parent.named_children()):
                if isinstance(child, ACTIVATION_TYPES):
                    setattr(parent, name, nn.Sequential(child, nn.Dropout(self.p)))
        return model


class L2(Regularizer):
    """Adds ``strength * sum(w**2)`` over weight matrices and kernels (not biases or norms)."""

    def __init__(self, strength: float = 1e-4):
        self.strength = strength

    def penalty(self, model: nn.Module) -> torch.Tensor:
        return self.strength * sum((p**2).sum() for p in model.parameters() if p.dim() > 1)


@hookimpl
def automl_regularizers():
    return [
        RegularizerSpec(name="dropout", build=Dropout, space={"p": {"uniform": [0.05, 0.5]}},
                        description="dropout after each activation"),
        RegularizerSpec(name="l2", build=L2, space={"strength": {"loguniform": [1e-6, 1e-3]}},
                        description="L2 penalty on weights"),
    ]
