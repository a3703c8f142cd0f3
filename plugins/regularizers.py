"""Built-in regularizers: dropout (a model transform), L1 and L2 (loss penalties), gradient
clipping (an after-backward step) and early stopping with patience (a stop rule).

Batch and layer normalization are architecture hyperparameters (``normalization`` of mlp and
the CNNs; the Transformers always use layer norm); weight decay is an optimizer hyperparameter
(sgd, adamw).
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn

from automl import hookimpl
from automl.components import Regularizer, RegularizerSpec

ACTIVATION_TYPES = (nn.ReLU, nn.GELU, nn.Tanh, nn.SiLU, nn.LeakyReLU, nn.ELU, nn.SELU, nn.Mish, nn.Sigmoid)


class Dropout(Regularizer):
    """Adds dropout after every activation module of the model; a model with none (the recurrent
    and Transformer ones) gets dropout before its last linear layer instead."""

    def __init__(self, p: float = 0.2):
        self.p = p

    def transform_model(self, model: nn.Module) -> nn.Module:
        wrapped = 0
        last_linear = None
        for parent in list(model.modules()):
            if _is_torch_layer(parent):
                continue
            for name, child in list(parent.named_children()):
                if isinstance(child, ACTIVATION_TYPES):
                    setattr(parent, name, nn.Sequential(child, nn.Dropout(self.p)))
                    wrapped += 1
                elif isinstance(child, nn.Linear):
                    last_linear = (parent, name, child)
        if not wrapped and last_linear is not None:
            parent, name, child = last_linear
            setattr(parent, name, nn.Sequential(nn.Dropout(self.p), child))
        return model


def _is_torch_layer(module: nn.Module) -> bool:
    """A torch.nn layer other than a plain container: its forward may read its children's weights
    directly (nn.MultiheadAttention's out_proj, the Transformer layers' fast path), so its
    children cannot be wrapped."""
    return type(module).__module__.startswith("torch.nn.") and not isinstance(module, (nn.Sequential, nn.ModuleList, nn.ModuleDict))


def weight_tensors(model: nn.Module):
    """Weight matrices and kernels: parameters with two or more dimensions (no biases or norms)."""
    return [p for p in model.parameters() if p.dim() > 1]


class L1(Regularizer):
    """Adds ``strength * sum(|w|)`` over weight matrices and kernels."""

    def __init__(self, strength: float = 1e-5):
        self.strength = strength

    def penalty(self, model: nn.Module) -> torch.Tensor:
        return self.strength * sum(p.abs().sum() for p in weight_tensors(model))


class L2(Regularizer):
    """Adds ``strength * sum(w**2)`` over weight matrices and kernels (not biases or norms)."""

    def __init__(self, strength: float = 1e-4):
        self.strength = strength

    def penalty(self, model: nn.Module) -> torch.Tensor:
        return self.strength * sum((p**2).sum() for p in weight_tensors(model))


class GradientClipping(Regularizer):
    """Rescales the gradients so their global L2 norm is at most ``max_norm``."""

    def __init__(self, max_norm: float = 1.0):
        self.max_norm = max_norm

    def after_backward(self, model: nn.Module) -> None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), self.max_norm)


class EarlyStopping(Regularizer):
    """Stops training when ``monitor`` has not improved for ``patience`` epochs.

    The platform passes ``monitor`` (the validation metric that ranks trials) and ``mode``;
    without a validation set (the refit) it never stops training.
    """

    def __init__(self, patience: int = 5, min_delta: float = 0.0, monitor: str = "val_loss", mode: str = "min"):
        self.patience, self.min_delta, self.monitor, self.mode = int(patience), float(min_delta), monitor, mode
        self.best: float | None = None
        self.waited = 0

    def stop_reason(self, metrics: Mapping[str, Any]) -> str | None:
        value = metrics.get(self.monitor)
        if value is None:
            return None
        if self.best is None or self._gain(float(value)) > self.min_delta:
            self.best, self.waited = float(value), 0
            return None
        self.waited += 1
        if self.waited >= self.patience:
            return f"no {self.monitor} improvement in {self.patience} epochs"
        return None

    def _gain(self, value: float) -> float:
        return value - self.best if self.mode == "max" else self.best - value


@hookimpl
def automl_regularizers():
    return [
        RegularizerSpec(name="dropout", build=Dropout, space={"p": {"uniform": [0.05, 0.5]}},
                        description="dropout after each activation (or before the head)"),
        RegularizerSpec(name="l1", build=L1, space={"strength": {"loguniform": [1e-7, 1e-4]}},
                        description="L1 penalty on weights"),
        RegularizerSpec(name="l2", build=L2, space={"strength": {"loguniform": [1e-6, 1e-3]}},
                        description="L2 penalty on weights"),
        RegularizerSpec(name="gradient_clipping", build=GradientClipping,
                        space={"max_norm": {"choice": [0.5, 1.0, 5.0]}},
                        description="clip the global gradient norm"),
        RegularizerSpec(name="early_stopping", build=EarlyStopping,
                        space={"patience": {"choice": [3, 5, 8]}},
                        description="stop a trial when its validation metric stops improving"),
    ]
