"""`automl leaderboard RUN_DIR`: filter by component or status, sort, top-k, four formats."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from automl.cli import main
from automl.engine.trial_records import TrialRecord
from automl.leaderboard import rank_trials, save_leaderboard


def _trial(trial_id, arch, optimizer, score, status="completed", dropout=False, epoch=3):
    config = {
        "epochs": 3, "batch_size": 32,
        "architecture": {"name": arch, "width": 16},
        "loss": {"name": "cross_entropy"},
        "optimizer": {"name": optimizer, "lr": 0.01},
        "regularizers": {"dropout": {"enabled": dropout, "p": 0.2}, "l2": {"enabled": False, "strength": 1e-4}},
    }
    metrics = {"best_val_accuracy": score, "best_epoch": 2, "epoch": epoch, "params": 100, "train_time_s": 1.0}
    return TrialRecord(trial_id, config, metrics, status, "boom" if status == "error" else "")


@pytest.fixture
def run_dir(tmp_path):
    records = [
        _trial("t1", "mlp", "adam", 0.90, dropout=True),
        _trial("t2", "cnn", "sgd", 0.95),
        _trial("t3", "mlp", "sgd", 0.80, status="stopped early", epoch=1),
        _trial("t4", "cnn", "adam", float("nan"), status="error", epoch=0),
    ]
    save_leaderboard(rank_trials(records, "accuracy", "max"), records, tmp_path)
    return tmp_path


def _run(capsys, *args) -> str:
    assert main(["leaderboard", *map(str, args)]) == 0
    return capsys.readouterr().out


def _csv(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text))


def test_leaderboard_csv_lists_every_trial_in_rank_order(run_dir, capsys):
    frame = _csv(_run(capsys, run_dir, "--format", "csv"))
    assert list(frame["trial_id"]) == ["t2", "t1", "t3", "t4"]
    assert list(frame["rank"]) == [1, 2, 3, 4]


def test_leaderboard_filters_by_architecture_optimizer_or_regularizer(run_dir, capsys):
    assert list(_csv(_run(capsys, run_dir, "--component", "mlp", "--format", "csv"))["trial_id"]) == ["t1", "t3"]
    assert list(_csv(_run(capsys, run_dir, "--component", "sgd", "--format", "csv"))["trial_id"]) == ["t2", "t3"]
    assert list(_csv(_run(capsys, run_dir, "--component", "dropout", "--format", "csv"))["trial_id"]) == ["t1"]
    both = _csv(_run(capsys, run_dir, "--component", "mlp", "--component", "sgd", "--format", "csv"))
    assert list(both["trial_id"]) == ["t3"]


def test_leaderboard_filters_by_status_including_failed_trials(run_dir, capsys):
    assert list(_csv(_run(capsys, run_dir, "--status", "error", "--format", "csv"))["trial_id"]) == ["t4"]
    kept = _csv(_run(capsys, run_dir, "--status", "completed", "--status", "stopped early", "--format", "csv"))
    assert list(kept["trial_id"]) == ["t2", "t1", "t3"]


def test_leaderboard_sorts_by_any_column_and_keeps_the_top_k(run_dir, capsys):
    frame = _csv(_run(capsys, run_dir, "--sort", "val_accuracy", "--format", "csv"))
    assert list(frame["trial_id"]) == ["t3", "t1", "t2", "t4"]  # ascending, the failed trial last
    top = _csv(_run(capsys, run_dir, "--sort", "trial_id", "--descending", "--top", "2", "--format", "csv"))
    assert list(top["trial_id"]) == ["t4", "t3"]


def test_leaderboard_json_is_a_list_of_rows_with_failed_scores_as_null(run_dir, capsys):
    rows = json.loads(_run(capsys, run_dir, "--format", "json"))
    assert [row["trial_id"] for row in rows] == ["t2", "t1", "t3", "t4"]
    assert rows[0]["val_accuracy"] == pytest.approx(0.95)
    assert rows[-1]["val_accuracy"] is None and rows[-1]["status"].startswith("error")


def test_leaderboard_markdown_and_table_show_the_chosen_columns(run_dir, capsys):
    markdown = _run(capsys, run_dir, "--format", "md", "--columns", "trial_id,val_accuracy", "--top", "1")
    assert markdown.splitlines() == ["| trial_id | val_accuracy |", "| --- | --- |", "| t2 | 0.95 |"]
    table = _run(capsys, run_dir)
    assert all(trial_id in table for trial_id in ("t1", "t2", "t3", "t4"))
    assert "val_accuracy" in table and "hyperparameters" not in table


def test_leaderboard_mistakes_are_one_line_errors(run_dir, tmp_path, capsys):
    assert main(["leaderboard", str(run_dir), "--sort", "speed"]) == 2
    assert "no column 'speed' to sort by" in capsys.readouterr().err
    assert main(["leaderboard", str(tmp_path / "missing")]) == 2
    assert "has no leaderboard" in capsys.readouterr().err
