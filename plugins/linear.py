"""Linear models trained like every other network: logistic regression (binary), softmax
regression (multiclass) and linear least squares (regression with the ``mse`` loss).

A ridge or L2-penalized logistic regression is this module plus an L2 term, which the platform
already offers twice: the ``l2`` regularizer (a penalty on the weight matrix, not the bias) and
the weight decay of ``adamw`` / ``sgd``. Nothing here duplicates them. On a linear target the
fitted model reaches the R² of scikit-learn's ``Ridge`` (bench/RESULTS.md, "Model families");
the search can then prefer it over a network that has to learn linearity from data.

Source: the generalized linear model trained by gradient descent, e.g. Hastie, Tibshirani and
Friedman, *The Elements of Statistical Learning* (2009), ch. 3-4.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from automl import hookimpl
from automl.components import ArchitectureSpec

SUPERVISED = ("binary", "multiclass", "regression")


class Linear(nn.Module):
    """Flatten, then one affine map to the outputs (logits or values)."""

    def __init__(self, input_shape, output_size: int, bias: bool = True) -> None:
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear = nn.Linear(math.prod(input_shape), output_size, bias=bias)
        # Zero weights: the fit starts from the intercept-only model, as a GLM solver does (the
        # searched initialization may re-initialize them; the problem is convex either way).
        nn.init.zeros_(self.linear.weight)
        if bias:
            nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.flatten(x))


@hookimpl
def automl_architectures():
    return [
        ArchitectureSpec(
            name="linear",
            build=Linear,
            tasks=SUPERVISED,
            input_kinds=("tabular", "image", "sequence"),
            space={"bias": True},
            description="logistic / softmax / linear regression on the flattened input (L2 via l2 or weight decay)",
        )
    ]
