"""A task the platform does not ship, from a package of its own, for the tests.

``automl-quantile-task`` 0.1.0 installs one entry point of the ``automl`` group, ``quantile``
(module ``automl_quantile_task``): the complete task plugin of the ``automl_tasks`` docstring
in automl/hookspecs.py, quantile regression with prediction intervals. Its networks
output three values per row, the 10 %, 50 % and 90 % quantiles of the target; it trains on
the pinball loss it brings (``pinball``: the platform ships no such loss), ranks trials by the
validation pinball loss (lower is better), predicts the median with the 80 % interval beside
it, and refuses export (the exported module returns one value per row). Architectures and
regularizers that fit ``regression`` fit it too.

It is pip-installed with ``--target`` into a folder of its own (:func:`install_task_package`),
which only the commands a test runs with it on ``PYTHONPATH`` see.
"""

from __future__ import annotations

import inspect
import textwrap
from pathlib import Path

from plugin_packages import pip_install, pyproject_text

NAME = "automl-quantile-task"
VERSION = "0.1.0"
TASK = "quantile"

PYPROJECT = pyproject_text(NAME, VERSION, "automl_quantile_task", {"quantile": "automl_quantile_task"})


def documented_example() -> str:
    """The source of the complete task plugin in the ``automl_tasks`` docstring
    (automl/hookspecs.py): the package installs the contract's own example, so it cannot drift."""
    from automl import hookspecs

    doc = inspect.cleandoc(hookspecs.automl_tasks.__doc__)
    block = doc[doc.index("A complete task plugin"):]
    lines = []
    for line in block[block.index("::\n") + 3:].splitlines():
        if line.strip() and not line.startswith("    "):
            break
        lines.append(line)
    return textwrap.dedent("\n".join(lines)).strip() + "\n"


def write_task_package(folder: Path) -> Path:
    """The package's source tree under ``folder``; returns the project folder."""
    project = folder / NAME
    package = project / "automl_quantile_task"
    package.mkdir(parents=True)
    (project / "pyproject.toml").write_text(PYPROJECT)
    (package / "__init__.py").write_text(documented_example())
    return project


def install_task_package(folder: Path) -> Path:
    """Build the package under ``folder`` and pip-install it into ``folder / "site"`` (offline, no
    dependencies); returns that folder, to put on a command's ``PYTHONPATH``."""
    site = folder / "site"
    pip_install(write_task_package(folder), target=site)
    return site
