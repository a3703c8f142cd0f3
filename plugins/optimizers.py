"""Built-in optimizers: Adam and SGD with momentum."""

from __future__ import annotations

import torch

from automl import hookimpl
from automl.components import OptimizerSpec


def build_adam(params, lr=1e-3, beta1=0.9):
    return torch.optim.Adam(params, lr=lr, betas=(beta1, 0.999))


def build_sgd(params, lr=1e-2, momentum=0.9, nesterov=False):
    return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=nesterov and momentum > 0)


@hookimpl
def automl_optimizers():
    return [
        OptimizerSpec(
            name="adam",
            build=build_adam,
            space={"lr": {"loguniform": [3e-4, 1e-2]}, "beta1": {"choice": [0.9, 0.95]}},
            description="Adam",
        ),
        OptimizerSpec(
            name="sgd",
            build=build_sgd,
            space={
                "lr": {"loguniform": [1e-3, 1e-1]},
                "momentum": {"choice": [0.0, 0.9]},
                "nesterov": {"choice": [False, True]},
            },
            description="stochastic gradient descent with (Nesterov) momentum",
        ),
    ]
