"""End to end through the real parts: Ray Tune trials → leaderboard → refit → test → predict."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from automl import AutoML
from automl.cli import main
from automl.predictor import load

import frames
from presets import HOLDOUT_NO_ENSEMBLE, HOLDOUT_NO_ENSEMBLE_FLAGS, UNTRACKED, UNTRACKED_FLAGS, ONE_TRIAL_AT_A_TIME

TINY_SPACE = """
epochs: 4
batch_size: 32
architectures:
  include: [mlp]
  mlp: {depth: 1, width: {choice: [16, 32]}, normalization: none}
optimizers:
  include: [adam]
  adam: {lr: {loguniform: [3.0e-3, 3.0e-2]}}
regularizers:
  include: [l2]
"""


@pytest.fixture(scope="module")
def classification_run(ray_session, tmp_path_factory):
    """One hold-out search read by the tests below (the shipped defaults have tests/test_shipped_defaults.py)."""
    root = tmp_path_factory.mktemp("classification")
    space = root / "space.yaml"
    space.write_text(TINY_SPACE)
    return AutoML(target="species", space=space, num_trials=3, output=root / "run", **HOLDOUT_NO_ENSEMBLE, **UNTRACKED,
                  **ONE_TRIAL_AT_A_TIME).fit(frames.blobs())


def test_a_search_ranks_every_trial_on_validation_and_saves_the_leaderboard(classification_run):
    board = classification_run.leaderboard
    assert len(board) == 3 and list(board["rank"]) == [1, 2, 3]
    assert board["val_accuracy"].is_monotonic_decreasing
    for column in ("trial_id", "architecture", "loss", "optimizer", "regularizers", "hyperparameters",
                   "best_epoch", "epochs_run", "train_time_s", "params", "status"):
        assert column in board.columns
    assert set(board["architecture"]) == {"mlp"} and (board["params"] > 0).all()
    run_dir = classification_run.run_dir
    saved = pd.read_csv(run_dir / "leaderboard.csv")
    assert list(saved["trial_id"]) == list(board["trial_id"])
    assert (run_dir / "leaderboard.md").read_text().startswith("| rank | trial_id |")
    histories = [json.loads(line)["history"] for line in (run_dir / "trials.jsonl").read_text().splitlines()]
    assert all(len(h) >= 1 and "train_loss" in h[0] and "val_accuracy" in h[0] for h in histories)


def test_the_best_trial_is_refit_for_its_winning_epoch_count_and_tested_once(classification_run):
    result = classification_run
    best = result.leaderboard.iloc[0]
    assert result.best["trial_id"] == best["trial_id"]
    assert result.best["refit_epochs"] == best["best_epoch"]
    assert result.test_metrics["accuracy"] >= 0.9  # separable blobs
    artifact = result.artifact_dir
    for name in ("weights.pt", "model.json", "preprocessing.skops", "metrics.json", "versions.json", "manifest.json"):
        assert (artifact / name).is_file()
    saved = json.loads((artifact / "metrics.json").read_text())["test"]
    assert saved == result.test_metrics
    assert "torch" in json.loads((artifact / "versions.json").read_text())


def test_predictions_come_back_as_the_original_labels(classification_run, blobs_frame):
    rows = blobs_frame.drop(columns="species").sample(frac=1, random_state=0).head(40)
    predicted = classification_run.predict(rows)
    truth = blobs_frame.loc[rows.index, "species"].to_numpy()
    assert set(predicted) <= {"ant", "bee", "cat"}
    assert (predicted == truth).mean() >= 0.9
    reordered = rows[list(reversed(rows.columns))]
    assert np.array_equal(load(classification_run.artifact_dir).predict(reordered), predicted)


def test_a_changed_artifact_file_is_refused(classification_run, tmp_path):
    import shutil

    from automl.errors import AutoMLError

    copy = tmp_path / "copy"
    shutil.copytree(classification_run.artifact_dir, copy)
    (copy / "model.json").write_text((copy / "model.json").read_text().replace('"epochs"', '"epochs" ', 1))
    with pytest.raises(AutoMLError, match="does not match its checksum"):
        load(copy)


def test_metric_chooses_what_ranks_the_trials_with_its_direction_from_the_task(ray_session, blobs_frame, tiny_space, tmp_path):
    run_dir = tmp_path / "by-log-loss"
    result = AutoML(target="species", metric="log_loss", space=tiny_space(TINY_SPACE), num_trials=3,
                    output=run_dir, **HOLDOUT_NO_ENSEMBLE, **UNTRACKED, **ONE_TRIAL_AT_A_TIME).fit(blobs_frame)
    assert result.metric == "log_loss"
    assert result.leaderboard["val_log_loss"].is_monotonic_increasing  # lower is better
    summary = json.loads((run_dir / "result.json").read_text())
    assert (summary["metric"], summary["mode"]) == ("log_loss", "min")
    assert "log_loss" in result.test_metrics and "balanced_accuracy" in result.test_metrics


def test_asha_stops_poor_trials_early(ray_session, blobs_frame, tiny_space, tmp_path):
    space = tiny_space(TINY_SPACE.replace("epochs: 4", "epochs: 9").replace(
        "{loguniform: [3.0e-3, 3.0e-2]}", "{choice: [1.0e-6, 1.0e-2]}"))
    asha = AutoML(target="species", space=space, num_trials=6, max_concurrent=1, output=tmp_path / "asha",
                  **HOLDOUT_NO_ENSEMBLE, **UNTRACKED).fit(blobs_frame)
    assert (asha.leaderboard["status"] == "stopped early").any()
    assert (asha.leaderboard.loc[asha.leaderboard["status"] == "stopped early", "epochs_run"] < 9).all()
    assert (asha.leaderboard["status"].isin(["completed", "stopped early"])).all()  # FIFO never stops one: test_search_algorithms


def test_trials_never_receive_the_test_split():
    from dataclasses import fields

    from automl.training.records import TrainingSet

    assert not any("test" in f.name for f in fields(TrainingSet))


def test_an_existing_run_directory_is_not_overwritten(ray_session, blobs_frame, tiny_space, tmp_path, capsys):
    run_dir = tmp_path / "taken"
    run_dir.mkdir()
    (run_dir / "keep.txt").write_text("precious")
    data = tmp_path / "d.csv"
    blobs_frame.to_csv(data, index=False)
    code = main(["search", str(data), "--target", "species", "--space", str(tiny_space(TINY_SPACE)), "--output", str(run_dir)])
    assert code == 2 and "--overwrite" in capsys.readouterr().err
    assert (run_dir / "keep.txt").read_text() == "precious"


def test_a_gpu_request_on_a_cluster_without_gpus_is_a_clear_error(ray_session, blobs_frame, tiny_space, tmp_path, capsys):
    data = tmp_path / "d.csv"
    blobs_frame.to_csv(data, index=False)
    code = main(["search", str(data), "--target", "species", "--space", str(tiny_space(TINY_SPACE)),
                 "--gpus-per-trial", "1", "--output", str(tmp_path / "gpu")])
    err = capsys.readouterr().err
    assert code == 2 and "asks for 1 GPU(s) but the Ray cluster has 0" in err


def test_search_joins_an_existing_ray_cluster_with_address(ray_session, blobs_frame, tiny_space, tmp_path):
    address = ray_session.get_runtime_context().gcs_address
    data = tmp_path / "d.csv"
    blobs_frame.to_csv(data, index=False)
    run_dir = tmp_path / "joined"
    completed = subprocess.run(
        [sys.executable, "-m", "automl", "search", str(data), "--target", "species", "--space",
         str(tiny_space(TINY_SPACE)), "--num-trials", "2", "--address", address, "--output", str(run_dir), "-q",
         *HOLDOUT_NO_ENSEMBLE_FLAGS, *UNTRACKED_FLAGS],
        capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert len(pd.read_csv(run_dir / "leaderboard.csv")) == 2
    # Every trial ran on this session's node, not on a Ray the CLI started for itself.
    records = [json.loads(line) for line in (run_dir / "trials.jsonl").read_text().splitlines()]
    session_node = ray_session.get_runtime_context().get_node_id()
    assert [r["metrics"]["node_id"] for r in records] == [session_node, session_node]


def test_tune_settings_apply_only_during_the_search_and_never_override_the_users(monkeypatch):
    # A plain Ray Tune run later in the same process must still get its own result files.
    import os

    from automl.engine.run import tune_settings

    monkeypatch.delenv("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", raising=False)
    monkeypatch.setenv("RAY_AIR_NEW_OUTPUT", "1")
    with tune_settings():
        assert os.environ["TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"] == "1"
        assert os.environ["RAY_AIR_NEW_OUTPUT"] == "1"
    assert "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS" not in os.environ
    assert os.environ["RAY_AIR_NEW_OUTPUT"] == "1"
