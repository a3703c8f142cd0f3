"""A task the platform does not ship, from a package of its own, for the tests.

``automl-quantile-task`` 0.1.0 installs one entry point of the ``automl`` group, ``quantile``
(module ``automl_quantile_task``): quantile regression with prediction intervals. Its networks
output three values per row, the 10 %, 50 % and 90 % quantiles of the target; it trains on
the pinball loss it brings (``pinball``: the platform ships no such loss), ranks trials by the
validation pinball loss (lower is better), predicts the median with the 80 % interval beside
it, and refuses export (the exported module returns one value per row). Architectures and
regularizers that fit ``regression`` fit it too.

It is pip-installed with ``--target`` into a folder of its own (:func:`install_task_package`),
which only the commands a test runs with it on ``PYTHONPATH`` see.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from plugin_packages import pip_install, pyproject_text

NAME = "automl-quantile-task"
VERSION = "0.1.0"
TASK = "quantile"

PYPROJECT = pyproject_text(NAME, VERSION, "automl_quantile_task", {"quantile": "automl_quantile_task"})

MODULE = '''\
"""Quantile regression: the 10 %, 50 % and 90 % quantiles of a numeric target, one task plugin."""
import numpy as np
import torch

from automl import hookimpl
from automl.components import LossSpec
from automl.errors import AutoMLError
from automl.tasks.supervised import SupervisedTask

QUANTILES = (0.1, 0.5, 0.9)


def pinball(outputs, targets):
    """The mean pinball loss of (N, 3) quantile outputs against (N, 1) targets."""
    levels = torch.as_tensor(QUANTILES, dtype=outputs.dtype, device=outputs.device)
    error = targets.reshape(-1, 1) - outputs
    return torch.maximum(levels * error, (levels - 1) * error).mean()


class PinballLoss(torch.nn.Module):
    def forward(self, outputs, targets):
        return pinball(outputs, targets)


class QuantileTask(SupervisedTask):
    """Standardized values as targets (as regression), three quantiles as outputs."""

    name = "quantile"
    metrics = {"pinball": "min", "interval_miss": "min", "mae": "min"}
    default_metric = "pinball"
    ensembles = False
    exportable = False
    export_refusal = ("the exported module returns one value per row, a quantile model three "
                      "(the 10 %, 50 % and 90 % quantiles)")
    export_instead = "use `automl predict` or `automl serve` for this model"
    takes_unmarked_components = False
    takes_components_of = ("regression",)
    options = SupervisedTask.options - {"ensemble"}
    contract_output_size = len(QUANTILES)

    def check_target(self, profile):
        if not profile.numeric:
            raise AutoMLError(f"task 'quantile' needs a numeric target, '{profile.name}' holds {profile.dtype} values",
                              "choose a numeric target")

    def output_size(self, target_size):
        return target_size * len(QUANTILES)

    def score(self, outputs, targets, target_scale=1.0):
        outputs = np.asarray(outputs, dtype=np.float64)
        targets = np.asarray(targets, dtype=np.float64).reshape(-1, 1)
        loss = float(pinball(torch.as_tensor(outputs), torch.as_tensor(targets)))
        inside = (targets[:, 0] >= outputs[:, 0]) & (targets[:, 0] <= outputs[:, 2])
        return {
            "pinball": loss * target_scale,
            # How far the share of rows inside the 80 % interval is from 80 %.
            "interval_miss": abs(float(inside.mean()) - 0.8),
            "mae": float(np.abs(targets[:, 0] - outputs[:, 1]).mean()) * target_scale,
        }

    def predictions(self, outputs, target_encoder):
        return target_encoder.decode(outputs[:, 1])

    def prediction_columns(self, outputs, target_encoder, target):
        return {f"predicted_{target}": self.predictions(outputs, target_encoder),
                f"lower_{target}": target_encoder.decode(outputs[:, 0]),
                f"upper_{target}": target_encoder.decode(outputs[:, 2])}

    def describe_test_predictions(self, prepared, outputs):
        encoder = prepared.target_encoder
        return {"true": encoder.decode(prepared.y_test).tolist(), "predicted": encoder.decode(outputs[:, 1]).tolist(),
                "rows": int(len(prepared.y_test))}


@hookimpl
def automl_tasks():
    return [QuantileTask()]


@hookimpl
def automl_losses():
    return [LossSpec(name="pinball", build=PinballLoss, tasks=("quantile",),
                     description="pinball loss at the 10 %, 50 % and 90 % quantiles")]
'''


def write_task_package(folder: Path) -> Path:
    """The package's source tree under ``folder``; returns the project folder."""
    project = folder / NAME
    package = project / "automl_quantile_task"
    package.mkdir(parents=True)
    (project / "pyproject.toml").write_text(PYPROJECT)
    (package / "__init__.py").write_text(textwrap.dedent(MODULE))
    return project


def install_task_package(folder: Path) -> Path:
    """Build the package under ``folder`` and pip-install it into ``folder / "site"`` (offline, no
    dependencies); returns that folder, to put on a command's ``PYTHONPATH``."""
    site = folder / "site"
    pip_install(write_task_package(folder), target=site)
    return site
