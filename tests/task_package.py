"""A task the platform does not ship, from a package of its own, for the tests.

``automl-quantile-task`` 0.1.0 installs one entry point of the ``automl`` group, ``quantile``
(module ``automl_quantile_task``): ``examples/automl-quantile-task/``, the complete task plugin
the ``automl_tasks`` hookspec points to, quantile regression with prediction intervals. Its networks
output three values per row, the 10 %, 50 % and 90 % quantiles of the target; it trains on
the pinball loss it brings (``pinball``: the platform ships no such loss), ranks trials by the
validation pinball loss (lower is better), predicts the median with the 80 % interval beside
it, and refuses export (the exported module returns one value per row). Architectures and
regularizers that fit ``regression`` fit it too.

It is pip-installed with ``--target`` into a folder of its own (:func:`install_task_package`),
which only the commands a test runs with it on ``PYTHONPATH`` see.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from plugin_packages import pip_install

NAME = "automl-quantile-task"
VERSION = "0.1.0"
TASK = "quantile"

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / NAME


def write_task_package(folder: Path) -> Path:
    """A copy of the example's project under ``folder`` (a build writes into its project
    folder, and the checkout stays untouched); returns the copy."""
    project = folder / NAME
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    return project


def install_task_package(folder: Path) -> Path:
    """Build the package under ``folder`` and pip-install it into ``folder / "site"`` (offline, no
    dependencies); returns that folder, to put on a command's ``PYTHONPATH``."""
    site = folder / "site"
    pip_install(write_task_package(folder), target=site)
    return site
