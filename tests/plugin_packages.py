"""A second third-party plugin package for the tests, written to a folder and pip-installed.

``automl-rival-plugin`` 0.3.0 installs two entry points of the ``automl`` group:

- ``rival_mlp`` (module ``automl_rival_plugin.architectures``): an architecture named ``mlp``,
  the bare name of a built-in, so its full name ``automl-rival-plugin:mlp`` must pick it;
- ``rival_noise`` (module ``automl_rival_plugin.noise``): ``feature_noise``, a batch-transform
  regularizer, training-only, so a model trained with it predicts without it.

The package is installed once per test session. Its hooks answer only while
``AUTOML_TEST_RIVAL_PLUGIN=1`` (the ``rival_plugin`` fixture sets it), so that the clash never
reaches other test modules' default searches and listings.

:func:`pyproject_text` and :func:`pip_install` build and install other plugin packages too
(tests/task_package.py).
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
from pathlib import Path

NAME = "automl-rival-plugin"
VERSION = "0.3.0"
ACTIVE_ENV = "AUTOML_TEST_RIVAL_PLUGIN"


def pyproject_text(name: str, version: str, package: str, entry_points: dict[str, str]) -> str:
    """The ``pyproject.toml`` of a one-package plugin project with ``entry_points`` in the
    ``automl`` group (entry point name -> module)."""
    points = "\n".join(f'{point} = "{module}"' for point, module in entry_points.items())
    return f"""\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "{version}"
dependencies = ["automl-torch", "torch"]

[project.entry-points.automl]
{points}

[tool.setuptools]
packages = ["{package}"]
"""


PYPROJECT = pyproject_text(NAME, VERSION, "automl_rival_plugin",
                           {"rival_mlp": "automl_rival_plugin.architectures", "rival_noise": "automl_rival_plugin.noise"})

INIT = f'''\
import os


def active():
    return os.environ.get("{ACTIVE_ENV}") == "1"
'''

ARCHITECTURES = '''\
"""A second "mlp": one hidden layer, no options but its width."""
import torch
from automl import hookimpl
from automl.components import ArchitectureSpec

from automl_rival_plugin import active


def build_mlp(input_shape, output_size, width=16):
    return torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(input_shape[0], width), torch.nn.Tanh(), torch.nn.Linear(width, output_size))


@hookimpl
def automl_architectures():
    if not active():
        return []
    return [ArchitectureSpec(name="mlp", build=build_mlp, tasks=("binary", "multiclass", "regression"),
                             input_kinds=("tabular",), space={"width": {"choice": [8, 16]}})]
'''

NOISE = '''\
"""Gaussian noise on tabular training batches: a batch transform, so training-only."""
import torch
from automl import hookimpl
from automl.components import Regularizer, RegularizerSpec

from automl_rival_plugin import active


class FeatureNoise(Regularizer):
    def __init__(self, sigma=0.1):
        self.sigma = sigma

    def transform_batch(self, inputs, targets):
        return inputs + self.sigma * torch.randn_like(inputs), targets


@hookimpl
def automl_regularizers():
    if not active():
        return []
    return [RegularizerSpec(name="feature_noise", build=FeatureNoise, input_kinds=("tabular",),
                            space={"sigma": {"uniform": [0.01, 0.2]}})]
'''


def write_rival_package(folder: Path) -> Path:
    """The package's source tree under ``folder``; returns the project folder."""
    project = folder / NAME
    package = project / "automl_rival_plugin"
    package.mkdir(parents=True)
    (project / "pyproject.toml").write_text(PYPROJECT)
    for name, text in {"__init__.py": INIT, "architectures.py": ARCHITECTURES, "noise.py": NOISE}.items():
        (package / name).write_text(textwrap.dedent(text))
    return project


def pip_install(project: Path, target: Path | None = None) -> None:
    """Install a plugin project (offline, no dependencies) into this interpreter's environment,
    or with ``target`` into that folder alone (for commands that put it on ``PYTHONPATH``)."""
    import importlib.util

    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", *(["--target", str(target)] if target else []), str(project)]
    if importlib.util.find_spec("setuptools"):
        pip.insert(-1, "--no-build-isolation")  # offline and fast when setuptools is at hand
    subprocess.run(pip, check=True, capture_output=True, timeout=300)
    importlib.invalidate_caches()


def pip_uninstall(name: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "uninstall", "--yes", "--quiet", name], check=True, capture_output=True, timeout=300)
