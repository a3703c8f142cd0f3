"""A task the platform does not ship, from a package of its own, end to end through the CLI.

``automl-quantile-task`` (tests/task_package.py: quantile regression with prediction intervals,
its own pinball loss and metric) is pip-installed into a folder of its own, which only the
commands run here see (on their ``PYTHONPATH``). One search with ``--task quantile`` runs in a
process of its own, with its own local Ray; the tests read its run directory and run
``automl predict`` and ``automl export`` on its model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from task_package import NAME, TASK, install_task_package

from presets import HOLDOUT_NO_ENSEMBLE_FLAGS, ONE_TRIAL_AT_A_TIME_FLAGS, UNTRACKED_FLAGS

# One search in a process of its own (Ray, torch) plus three commands: about 35 CPU-seconds.
pytestmark = pytest.mark.slow

SPACE = """\
epochs: 4
batch_size: 32
architectures:
  include: [mlp]
  mlp: {depth: 1, width: 16}
optimizers:
  include: [adam]
  adam: {lr: 0.01}
regularizers:
  include: []
"""


def spread_frame(n: int = 240) -> pd.DataFrame:
    """``y = 3a + 50`` plus noise whose spread grows with ``|b|``: intervals worth predicting."""
    rng = np.random.default_rng(2)
    a, b = rng.normal(0, 1, n), rng.normal(0, 1, n)
    return pd.DataFrame({"a": a, "b": b, "y": 3 * a + 50 + rng.normal(0, 1, n) * (0.5 + np.abs(b))})


def automl(site: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """``automl ARGS`` in a process that sees the installed task package."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    return subprocess.run([sys.executable, "-m", "automl", *args], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def quantile_run(tmp_path_factory) -> tuple[Path, Path, Path]:
    """``(site, run directory, data)`` of one ``automl search data.csv --target y --task quantile``."""
    folder = tmp_path_factory.mktemp("quantile-task")
    site = install_task_package(folder)
    data, space = folder / "data.csv", folder / "space.yaml"
    spread_frame().to_csv(data, index=False)
    space.write_text(SPACE)
    search = automl(site, "search", str(data), "--target", "y", "--task", TASK, "--space", str(space), "--num-trials", "2",
                    "--scheduler", "fifo", "-q", "--output", str(folder / "run"),
                    *HOLDOUT_NO_ENSEMBLE_FLAGS, *UNTRACKED_FLAGS, *ONE_TRIAL_AT_A_TIME_FLAGS, timeout=600)
    assert search.returncode == 0, search.stderr[-3000:]
    return site, folder / "run", data


def test_the_task_trains_its_own_loss_on_the_architectures_of_the_task_it_names(quantile_run):
    _, run, _ = quantile_run
    board = pd.read_csv(run / "leaderboard.csv")
    assert len(board) == 2 and (board["status"] == "completed").all()
    assert set(board["architecture"]) == {"mlp"} and set(board["loss"]) == {"pinball"}
    assert json.loads((run / "model" / "model.json").read_text())["output_size"] == 3  # the task's, not the target's 1


def test_trials_are_ranked_by_the_tasks_own_metric_lowest_first(quantile_run):
    _, run, _ = quantile_run
    result = json.loads((run / "result.json").read_text())
    assert (result["metric"], result["mode"]) == ("pinball", "min")
    board = pd.read_csv(run / "leaderboard.csv")
    assert "val_pinball" in board.columns and "val_accuracy" not in board.columns and "val_rmse" not in board.columns
    assert board["val_pinball"].is_monotonic_increasing and list(board["rank"]) == [1, 2]
    assert set(json.loads((run / "model" / "metrics.json").read_text())["test"]) >= {"pinball", "interval_miss", "mae"}


def test_the_final_model_predicts_the_median_and_its_interval_on_new_rows(quantile_run, tmp_path):
    site, run, data = quantile_run
    rows = pd.read_csv(data).drop(columns=["y"]).head(20)
    rows.to_csv(tmp_path / "new.csv", index=False)
    predict = automl(site, "predict", str(run / "model"), str(tmp_path / "new.csv"), "--output", str(tmp_path / "predictions.csv"))
    assert predict.returncode == 0, predict.stderr[-2000:]
    predictions = pd.read_csv(tmp_path / "predictions.csv")
    assert list(predictions.columns) == ["predicted_y", "lower_y", "upper_y"] and len(predictions) == 20
    # In the target's units (about 50), and the median inside its interval on most rows.
    assert predictions["predicted_y"].between(30, 70).all()
    inside = (predictions["lower_y"] <= predictions["predicted_y"]) & (predictions["predicted_y"] <= predictions["upper_y"])
    assert inside.mean() >= 0.8


def test_export_is_refused_naming_the_task_and_why(quantile_run, tmp_path):
    site, run, _ = quantile_run
    export = automl(site, "export", str(run / "model"), "--output", str(tmp_path / "exported"))
    assert export.returncode == 2
    [line] = export.stderr.strip().splitlines()
    assert f"cannot export a {TASK} model" in line and "a quantile model three" in line and "automl predict" in line
    assert not (tmp_path / "exported").exists()


def test_its_loss_is_listed_with_its_package_and_the_architectures_it_takes_list_the_task(quantile_run):
    site, _, _ = quantile_run
    listing = automl(site, "plugins", "*", "--family", "losses")
    assert listing.returncode == 0, listing.stderr[-2000:]
    [pinball] = [line.split() for line in listing.stdout.splitlines() if " pinball " in line]
    assert f"{NAME}:pinball" in pinball and pinball[pinball.index(NAME) + 2] == TASK  # package, version, tasks
    mse = next(line for line in listing.stdout.splitlines() if line.split()[1] == "mse")
    assert TASK not in mse  # a task brings its own loss: regression's are not offered for it
    architectures = automl(site, "plugins", "mlp")
    assert TASK in next(line for line in architectures.stdout.splitlines() if "automl-torch:mlp" in line)
