"""Built-in optimizers: SGD (momentum, Nesterov), Adam, AdamW, RMSprop and Adagrad, each with
a learning-rate schedule (constant, step, cosine, one-cycle) and optional warm-up.

Builders name ``epochs`` and ``steps_per_epoch`` so the platform passes the schedule horizon.
"""

from __future__ import annotations

import torch

from automl import hookimpl
from automl.components import OptimizerSpec
from automl_plugins.schedules import SCHEDULE_SPACE, with_schedule


def build_sgd(params, lr=1e-2, momentum=0.9, nesterov=False, weight_decay=0.0, schedule="constant", warmup=0.0,
              epochs=None, steps_per_epoch=None):
    """SGD; Nesterov momentum only where momentum is on."""
    optimizer = torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=bool(nesterov and momentum > 0),
                                weight_decay=weight_decay)
    return with_schedule(optimizer, schedule, warmup, epochs, steps_per_epoch)


def build_adam(params, lr=1e-3, beta1=0.9, schedule="constant", warmup=0.0, epochs=None, steps_per_epoch=None):
    """Adam."""
    optimizer = torch.optim.Adam(params, lr=lr, betas=(beta1, 0.999))
    return with_schedule(optimizer, schedule, warmup, epochs, steps_per_epoch)


def build_adamw(params, lr=1e-3, weight_decay=1e-2, schedule="constant", warmup=0.0, epochs=None, steps_per_epoch=None):
    """AdamW: Adam with decoupled weight decay."""
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    return with_schedule(optimizer, schedule, warmup, epochs, steps_per_epoch)


def build_rmsprop(params, lr=1e-3, momentum=0.0, alpha=0.99, schedule="constant", warmup=0.0, epochs=None,
                  steps_per_epoch=None):
    """RMSprop."""
    optimizer = torch.optim.RMSprop(params, lr=lr, momentum=momentum, alpha=alpha)
    return with_schedule(optimizer, schedule, warmup, epochs, steps_per_epoch)


def build_adagrad(params, lr=1e-2, schedule="constant", warmup=0.0, epochs=None, steps_per_epoch=None):
    """Adagrad."""
    optimizer = torch.optim.Adagrad(params, lr=lr)
    return with_schedule(optimizer, schedule, warmup, epochs, steps_per_epoch)


@hookimpl
def automl_optimizers():
    return [
        OptimizerSpec(
            name="sgd", build=build_sgd,
            space={"lr": {"loguniform": [1e-3, 1e-1]}, "momentum": {"choice": [0.0, 0.9]},
                   "nesterov": {"choice": [False, True]}, "weight_decay": {"choice": [0.0, 1e-4]}, **SCHEDULE_SPACE},
            description="stochastic gradient descent with (Nesterov) momentum and weight decay",
        ),
        OptimizerSpec(
            name="adam", build=build_adam,
            space={"lr": {"loguniform": [3e-4, 1e-2]}, "beta1": {"choice": [0.9, 0.95]}, **SCHEDULE_SPACE},
            description="Adam",
        ),
        OptimizerSpec(
            name="adamw", build=build_adamw,
            space={"lr": {"loguniform": [3e-4, 1e-2]}, "weight_decay": {"loguniform": [1e-4, 1e-1]}, **SCHEDULE_SPACE},
            description="AdamW (decoupled weight decay)",
        ),
        OptimizerSpec(
            name="rmsprop", build=build_rmsprop,
            space={"lr": {"loguniform": [1e-4, 1e-2]}, "momentum": {"choice": [0.0, 0.9]}, **SCHEDULE_SPACE},
            description="RMSprop",
        ),
        OptimizerSpec(
            name="adagrad", build=build_adagrad,
            space={"lr": {"loguniform": [1e-3, 1e-1]}, **SCHEDULE_SPACE},
            description="Adagrad",
        ),
    ]
