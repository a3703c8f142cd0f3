"""A third-party plugin package, installed with pip, is discovered, offered and trained.

It is installed with ``pip install --target`` into a folder of its own, which only this module's
processes see (on ``sys.path`` here, on ``PYTHONPATH`` in the commands it runs): a test running
beside it in another process never finds an architecture it did not ask for.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from automl.registry import load_registry
from presets import HOLDOUT_NO_ENSEMBLE_FLAGS, ONE_TRIAL_AT_A_TIME_FLAGS, UNTRACKED_FLAGS

PLUGIN_DIR = Path(__file__).resolve().parent.parent / "examples" / "automl-example-plugin"


@pytest.fixture(scope="module")
def installed_example_plugin(tmp_path_factory) -> Path:
    """The folder the example plugin is pip-installed into."""
    site = tmp_path_factory.mktemp("example-plugin-site")
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(PLUGIN_DIR)]
    if importlib.util.find_spec("setuptools"):
        pip.insert(-1, "--no-build-isolation")  # offline and fast when setuptools is at hand
    subprocess.run(pip, check=True, capture_output=True, timeout=300)
    return site


@pytest.fixture
def on_path(installed_example_plugin, monkeypatch) -> Path:
    """The installed plugin, visible to this process for one test."""
    monkeypatch.syspath_prepend(str(installed_example_plugin))
    return installed_example_plugin


def with_plugin(site: Path) -> dict:
    """The environment of a command that sees the installed plugin."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}


def test_the_installed_plugin_is_listed_with_its_package(on_path):
    component = load_registry().get("architectures", "resmlp")
    assert component.plugin == "resmlp"
    assert component.package == "automl-example-plugin" and component.version == "0.1.0"


def test_the_installed_plugin_is_offered_and_trained_in_a_search(installed_example_plugin, blobs_frame, tiny_space, tmp_path):
    space = tiny_space(
        "epochs: 3\nbatch_size: 32\narchitectures:\n  include: [mlp, resmlp]\n  mlp: {depth: 1, width: 16}\n"
        "optimizers:\n  include: [adam]\n  adam: {lr: 0.01}\nregularizers:\n  include: []\n"
    )
    blobs_frame.to_csv(tmp_path / "blobs.csv", index=False)
    search = subprocess.run(
        [sys.executable, "-m", "automl", "search", str(tmp_path / "blobs.csv"), "--target", "species", "--space", str(space),
         "--num-trials", "4", "--scheduler", "fifo", "-q", "--output", str(tmp_path / "run"),
         *HOLDOUT_NO_ENSEMBLE_FLAGS, *UNTRACKED_FLAGS, *ONE_TRIAL_AT_A_TIME_FLAGS],
        env=with_plugin(installed_example_plugin), capture_output=True, text=True, timeout=600,
    )
    assert search.returncode == 0, search.stderr[-2000:]
    board = pd.read_csv(tmp_path / "run" / "leaderboard.csv")
    resmlp = board[board["architecture"] == "resmlp"]
    assert len(resmlp) >= 1
    assert (resmlp["status"] == "completed").all() and (resmlp["val_accuracy"] > 0.8).all()


def test_the_example_plugin_passes_plugins_check(on_path, capsys):
    from automl.cli import main

    assert main(["plugins", "check", "automl_example_plugin"]) == 0
    assert "ok   architecture resmlp: builds for regression with tabular input" in capsys.readouterr().out


def test_the_example_plugins_own_tests_run_the_contract(installed_example_plugin):
    tests = PLUGIN_DIR / "tests"
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)],
                         capture_output=True, text=True, cwd=PLUGIN_DIR, timeout=300, env=with_plugin(installed_example_plugin))
    assert run.returncode == 0, run.stdout[-2000:]
    assert "5 passed" in run.stdout  # the whole-plugin check and each of its four checks
