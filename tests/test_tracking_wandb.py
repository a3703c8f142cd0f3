"""Weights & Biases with the real client, offline: trial runs, the summary run, the sync command,
and the live progress display of the same CLI search, captured as a non-terminal would see it.

Every W&B call here runs offline (no API key, WANDB_MODE=offline); the runs are read back from
their ``.wandb`` files with :mod:`wandb_records` (tests/wandb_records.py).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from presets import HOLDOUT_NO_ENSEMBLE_FLAGS

from automl.cli import main
from wandb_records import find_offline_runs, read_offline_run

OFFLINE_ENV = {"WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_DISABLE_CODE": "true", "WANDB_CONSOLE": "off"}

# wandb's service may still be flushing a run's last records just after finish() returns.
FLUSH_WAIT_S = 30

TINY_SPACE = """
epochs: 3
batch_size: 32
architectures:
  include: [mlp]
  mlp:
    depth: 1
    width: {choice: [8, 16]}
    normalization: none
optimizers:
  include: [adam]
  adam:
    lr: {loguniform: [3.0e-3, 3.0e-2]}
"""


@pytest.fixture(scope="module")
def offline_env():
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("WANDB_API_KEY", raising=False)
        for key, value in OFFLINE_ENV.items():
            patch.setenv(key, value)
        yield


@pytest.fixture(scope="module")
def cli_search(ray_session, offline_env, tmp_path_factory):
    """One real 3-trial search through the CLI with W&B on; stdout captured (not a terminal)."""
    root = tmp_path_factory.mktemp("wandb_search")
    space = root / "space.yaml"
    space.write_text(TINY_SPACE)
    run_dir = root / "run"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(["search", "iris", "--space", str(space), "--num-trials", "3", "--time-budget", "300",
                     "--output", str(run_dir), "--wandb-project", "automl-tests", *HOLDOUT_NO_ENSEMBLE_FLAGS])
    assert code == 0, stdout.getvalue()
    return run_dir, stdout.getvalue()


def _trials(run_dir: Path) -> dict[str, dict]:
    lines = (run_dir / "trials.jsonl").read_text().splitlines()
    return {t["trial_id"]: t for t in map(json.loads, lines)}


def test_every_trial_is_a_wandb_run_in_one_group_with_its_config_and_epoch_history(cli_search):
    run_dir, _ = cli_search
    runs = [r for r in find_offline_runs(run_dir / "wandb", wait_s=FLUSH_WAIT_S) if r.job_type == "trial"]
    trials = _trials(run_dir)
    assert sorted(r.name for r in runs) == sorted(trials)
    assert {r.group for r in runs} == {run_dir.name} and {r.project for r in runs} == {"automl-tests"}
    for run in runs:
        trial = trials[run.name]
        assert run.exit_code == 0
        assert {k: v for k, v in run.config.items() if k != "trial_id"} == trial["config"]
        assert run.config["architecture"]["name"] == "mlp" and "lr" in run.config["optimizer"]
        logged = [v for h in run.history for v in (h["_step"], h["epoch"], h["train_loss"], h["val_accuracy"], h["val_loss"])]
        expected = [v for h in trial["history"] for v in (h["epoch"], h["epoch"], h["train_loss"], h["val_accuracy"], h["val_loss"])]
        assert len(run.history) == len(trial["history"]) >= 1
        assert logged == pytest.approx(expected)


def test_summary_run_holds_the_leaderboard_table_the_plots_and_the_model_artifact(cli_search):
    run_dir, _ = cli_search
    (summary,) = [r for r in find_offline_runs(run_dir / "wandb", wait_s=FLUSH_WAIT_S) if r.job_type == "summary"]
    assert summary.group == run_dir.name
    table = json.loads((summary.files_dir / summary.summary["leaderboard/path"]).read_text())
    leaderboard = pd.read_csv(run_dir / "leaderboard.csv")
    assert table["columns"] == list(leaderboard.columns)
    assert [row[1] for row in table["data"]] == list(leaderboard["trial_id"])
    assert [row[7] for row in table["data"]] == pytest.approx(list(leaderboard["val_accuracy"]))
    plots = {"best_so_far", "learning_curves", "score_by_architecture", "hyperparameter_effects", "confusion_matrix"}
    for name in plots:
        image = summary.files_dir / summary.summary[f"plots/{name}/path"]
        assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (model,) = [a for a in summary.artifacts if a["type"] == "model"]
    assert {"weights.pt", "model.json", "preprocessing.skops", "manifest.json"} <= set(model["files"])
    result = json.loads((run_dir / "result.json").read_text())
    assert summary.summary["test_accuracy"] == pytest.approx(result["test_metrics"]["accuracy"])
    assert summary.config["best_trial"] == result["best"]["trial_id"]


def test_search_prints_the_wandb_sync_command_and_it_finds_every_offline_run(cli_search):
    run_dir, stdout = cli_search
    (line,) = [line for line in stdout.splitlines() if "wandb sync" in line]
    command = shlex.split(line.split("upload them with: ")[1])
    assert command == ["wandb", "sync", str(run_dir / "wandb")]
    # --dry-run lists what would be uploaded and stops before any authentication or network.
    dry = subprocess.run([sys.executable, "-m", "wandb", *command[1:], "--dry-run"], capture_output=True, text=True,
                         timeout=120, env={**os.environ, **OFFLINE_ENV})
    assert "Would sync 4 run(s)" in dry.stdout + dry.stderr


def test_progress_display_in_a_non_terminal_shows_counts_best_config_and_refit_bar(cli_search):
    run_dir, stdout = cli_search
    assert "trials 3 of 3 finished" in stdout and "0 failed" in stdout
    best = json.loads((run_dir / "result.json").read_text())["best"]
    # The hyperparameters' order is the searcher's (TPE suggests define-by-run): check each, not the order.
    assert f"trial {best['trial_id']}" in stdout and "mlp(" in stdout and "depth=1" in stdout and "adam(" in stdout
    assert "of 5:00 budget" in stdout
    assert stdout.count("trial ") >= 3 and ("completed after 3 of 3 epochs" in stdout)
    assert f"refit on train+val" in stdout and f"{best['refit_epochs']}/{best['refit_epochs']} epochs" in stdout
    assert "Trial status" not in stdout and "Current time" not in stdout  # Ray's own table stays off


def test_search_writes_a_report_with_the_confusion_matrix_of_the_test_split(cli_search):
    run_dir, stdout = cli_search
    page = (run_dir / "report.html").read_text()
    assert f"report: {run_dir / 'report.html'}" in stdout
    for section in ("best_so_far", "learning_curves", "score_by_architecture", "hyperparameter_effects", "confusion_matrix"):
        assert f'<section id="{section}">' in page
    matrix = json.loads((run_dir / "model" / "metrics.json").read_text())["test_predictions"]["confusion_matrix"]
    test_rows = json.loads((run_dir / "data_report.json").read_text())["split_rows"]["test"]
    assert sum(map(sum, matrix)) == test_rows


def test_reader_joins_a_record_split_across_32k_blocks(offline_env, tmp_path):
    import wandb

    notes = "x" * 100_000  # one config record three blocks long
    run = wandb.init(project="automl-tests", dir=str(tmp_path), mode="offline", reinit="create_new",
                     config={"notes": notes, "width": 16}, settings=wandb.Settings(silent=True, x_disable_stats=True))
    for epoch in range(1, 4):
        run.log({"train_loss": 1.0 / epoch}, step=epoch)
    run.finish()
    runs = find_offline_runs(tmp_path / "wandb", wait_s=FLUSH_WAIT_S)
    assert len(runs) == 1, sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    (offline,) = runs
    assert offline.config == {"notes": notes, "width": 16}
    assert [h["train_loss"] for h in offline.history] == pytest.approx([1.0, 0.5, 1 / 3])
    assert read_offline_run(offline.path.parent).run_id == offline.run_id


def test_wandb_mode_is_offline_without_a_key_and_online_with_one(tmp_path):
    # One fresh process: a found key is remembered by wandb for the process, so it is tried last.
    probe = """
import os
from automl.tracking.wandb_runs import resolve_mode
print(resolve_mode())
os.environ["WANDB_MODE"] = "disabled"
print(resolve_mode())
del os.environ["WANDB_MODE"]
os.environ["WANDB_API_KEY"] = "k" * 40
print(resolve_mode())
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(NETRC=str(tmp_path / "no-netrc"), HOME=str(tmp_path), WANDB_SILENT="true")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, env=env)
    no_key, user_choice, with_key = done.stdout.split()[-3:]
    assert no_key == "offline"
    assert user_choice == "None"  # the user's own WANDB_MODE is left to wandb
    assert with_key == "online"  # a key is only looked at, never verified: no network


@pytest.mark.slow
def test_no_wandb_and_quiet_search_prints_only_results_and_writes_no_runs(ray_session, offline_env, tmp_path):
    space = tmp_path / "space.yaml"
    space.write_text(TINY_SPACE.replace("epochs: 3", "epochs: 1"))
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(["search", "iris", "--space", str(space), "--num-trials", "1", "--output", str(tmp_path / "run"),
                     "--no-wandb", "-q", *HOLDOUT_NO_ENSEMBLE_FLAGS])
    assert code == 0
    assert not (tmp_path / "run" / "wandb").exists()
    text = stdout.getvalue()
    assert "test: accuracy" in text and "| rank |" in text
    assert "trials 1 of 1 finished" not in text and "wandb sync" not in text and "data: iris" not in text
    assert (tmp_path / "run" / "report.html").is_file()
