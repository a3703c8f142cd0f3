"""A third-party plugin package, installed with pip, is discovered, offered and trained."""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from automl import AutoML
from automl.plugins import load_registry
from presets import HOLDOUT_NO_ENSEMBLE

PLUGIN_DIR = Path(__file__).resolve().parent.parent / "examples" / "automl-example-plugin"


@pytest.fixture(scope="module")
def installed_example_plugin():
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", str(PLUGIN_DIR)]
    if importlib.util.find_spec("setuptools"):
        pip.insert(-1, "--no-build-isolation")  # offline and fast when setuptools is at hand
    subprocess.run(pip, check=True, capture_output=True, timeout=300)
    importlib.invalidate_caches()
    yield
    subprocess.run([sys.executable, "-m", "pip", "uninstall", "--yes", "--quiet", "automl-example-plugin"],
                   check=True, capture_output=True, timeout=300)


def test_the_installed_plugin_is_listed_with_its_package(installed_example_plugin):
    component = load_registry().get("architectures", "resmlp")
    assert component.plugin == "resmlp"
    assert component.package == "automl-example-plugin" and component.version == "0.1.0"


def test_the_installed_plugin_is_offered_and_trained_in_a_search(installed_example_plugin, ray_session, blobs_frame, tiny_space, tmp_path):
    space = tiny_space(
        "epochs: 3\nbatch_size: 32\narchitectures:\n  include: [mlp, resmlp]\n  mlp: {depth: 1, width: 16}\n"
        "optimizers:\n  include: [adam]\n  adam: {lr: 0.01}\nregularizers:\n  include: []\n"
    )
    result = AutoML(target="species", space=space, num_trials=4, scheduler="fifo", output=tmp_path / "run",
                    **HOLDOUT_NO_ENSEMBLE).fit(blobs_frame)
    resmlp = result.leaderboard[result.leaderboard["architecture"] == "resmlp"]
    assert len(resmlp) >= 1
    assert (resmlp["status"] == "completed").all() and (resmlp["val_accuracy"] > 0.8).all()


def test_the_example_plugin_passes_plugins_check(installed_example_plugin, capsys):
    from automl.cli import main

    assert main(["plugins", "check", "automl_example_plugin"]) == 0
    assert "ok   architecture resmlp: builds for regression with tabular input" in capsys.readouterr().out


def test_the_example_plugins_own_tests_run_the_contract(installed_example_plugin):
    tests = PLUGIN_DIR / "tests"
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)],
                         capture_output=True, text=True, cwd=PLUGIN_DIR, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:]
    assert "5 passed" in run.stdout  # the whole-plugin check and each of its four checks
