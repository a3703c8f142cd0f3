"""Linear models fitted to their optimum: logistic regression (binary), softmax regression
(multiclass) and ridge regression (regression with the ``mse`` loss; ``huber`` gives a robust
linear fit).

The module says ``fits_to_optimum = True``: the training loop does not train it by mini-batch
steps but minimizes the trial's own loss plus its penalties (``penalty()``: ``l2`` times the
squared weights, the bias left free, as scikit-learn's ``Ridge`` and ``LogisticRegression`` do;
and any penalty regularizer of the trial) over all training rows by L-BFGS, in its first epoch,
and ends the trial there (:func:`automl.training.loop.fit_to_optimum`). So no scheduler judges a
half-trained linear model, and its score is the convex problem's optimum. With the mean loss the
loop minimizes, ``l2`` is scikit-learn's ``alpha`` divided by the number of training rows
(``Ridge``), or ``1 / (2 C n)`` (``LogisticRegression``; ``1 / (C n)`` for two classes, whose two
logit rows share the penalty).

Source: the generalized linear model, e.g. Hastie, Tibshirani and Friedman, *The Elements of
Statistical Learning* (2009), ch. 3-4; L-BFGS: Liu and Nocedal (1989).
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

    fits_to_optimum = True

    def __init__(self, input_shape, output_size: int, bias: bool = True, l2: float = 1e-3) -> None:
        super().__init__()
        self.l2 = float(l2)
        self.flatten = nn.Flatten()
        self.linear = nn.Linear(math.prod(input_shape), output_size, bias=bias)
        # Zero weights: the fit starts from the intercept-only model, as a GLM solver does (the
        # searched initialization may re-initialize them; the problem is convex either way).
        nn.init.zeros_(self.linear.weight)
        if bias:
            nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.flatten(x))

    def penalty(self) -> torch.Tensor:
        """The ridge penalty: ``l2`` times the sum of the squared weights (not the bias). The
        affine map is looked up, since a trial's dropout may have wrapped it."""
        affine = next(m for m in self.modules() if isinstance(m, nn.Linear))
        return self.l2 * affine.weight.square().sum()


@hookimpl
def automl_architectures():
    return [
        ArchitectureSpec(
            name="linear",
            build=Linear,
            tasks=SUPERVISED,
            input_kinds=("tabular", "image", "sequence"),
            space={"bias": True, "l2": {"loguniform": [1e-5, 1e-1]}},
            description="logistic / softmax / ridge regression on the flattened input, fitted to its optimum by L-BFGS",
        )
    ]
