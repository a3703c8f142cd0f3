"""Failing trials and concurrent run directories, shown by fault injection in real searches.

Faults come from a test-only architecture plugin (``tests/fault_plugin.py``): a trial raises,
diverges, runs out of memory or SIGKILLs its own Ray worker at a chosen epoch. Each test
checks that the failure is recorded with its status and reason and that nothing finished is
lost: the other trials' results, and every epoch the failed trials completed.
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

import fault_plugin
from automl.cli import main
from presets import HOLDOUT_NO_ENSEMBLE_FLAGS, SHIPPED_DEFAULTS_FLAGS, UNTRACKED_FLAGS

EPOCHS = 3
FAULT_EPOCH = 2


@pytest.fixture(scope="module")
def faulty_plugin(tmp_path_factory):
    """``faulty`` as an installed plugin: a ``.dist-info`` on ``sys.path`` names its entry point
    (the registry finds it like any package's), and Ray ships its code to workers by value."""
    import ray.cloudpickle

    site = tmp_path_factory.mktemp("site")
    dist = site / "automl_fault_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: automl-fault-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[automl]\nfaults = fault_plugin\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(site))
        ray.cloudpickle.register_pickle_by_value(fault_plugin)
        try:
            yield
        finally:
            ray.cloudpickle.unregister_pickle_by_value(fault_plugin)


def blobs_csv(path: Path) -> Path:
    """A small, separable 3-class table (a linear model learns it in a few epochs)."""
    rng = np.random.default_rng(0)
    label = rng.integers(0, 3, 240)
    frame = pd.DataFrame({"x1": label * 2.0 + rng.normal(0, 0.4, 240), "x2": -label * 1.5 + rng.normal(0, 0.4, 240)})
    frame["species"] = np.array(["ant", "bee", "cat"])[label]
    frame.to_csv(path, index=False)
    return path


def faulty_space(path: Path, faults: list[str], epochs: int, at_epoch: int, state_dir: Path, once: bool = False) -> Path:
    """A space of ``faulty`` trials only: one trial per fault (a grid), plain Adam, no regularizers."""
    path.write_text(
        f"epochs: {epochs}\nbatch_size: 32\n"
        "architectures:\n  include: [faulty]\n"
        f"  faulty: {{fault: {{grid: [{', '.join(faults)}]}}, at_epoch: {at_epoch}, once: {str(once).lower()}, state_dir: '{state_dir}'}}\n"
        "losses:\n  include: [cross_entropy]\n  cross_entropy: {label_smoothing: 0.0}\n"
        "optimizers:\n  include: [adam]\n  adam: {lr: 0.05, schedule: constant, warmup: 0.0}\n"
        "regularizers:\n  include: []\n"
    )
    return path


def search(data: Path, space: Path, run_dir: Path, *flags: str, preset: tuple[str, ...] = HOLDOUT_NO_ENSEMBLE_FLAGS) -> int:
    """``automl search`` in this process (it joins the session's Ray); a hold-out and no
    ensemble unless ``preset`` says otherwise."""
    return main(["search", str(data), "--target", "species", "--space", str(space), "--scheduler", "fifo",
                 "--num-trials", "1", "--output", str(run_dir), "-q", *UNTRACKED_FLAGS, *preset, *flags])


def read_trials(run_dir: Path) -> dict[str, dict]:
    """trials.jsonl by fault."""
    trials = [json.loads(line) for line in (run_dir / "trials.jsonl").read_text().splitlines()]
    return {t["config"]["architecture"]["fault"]: t for t in trials}


def read_leaderboard(run_dir: Path) -> dict[str, pd.Series]:
    """leaderboard.csv rows of the trials by fault (read back from the hyperparameters column)."""
    frame = pd.read_csv(run_dir / "leaderboard.csv")
    return {row["hyperparameters"].split("faulty.fault=")[1].split(",")[0]: row for _, row in frame.iterrows()
            if "faulty.fault=" in row["hyperparameters"]}


def epochs_of(trial: dict) -> list[int]:
    return [int(row["epoch"]) for row in trial["history"]]


# -- one search, every kind of failure, no retries -----------------------------------------

FAULTS = ["none", "raise", "nan", "oom", "memory_error", "kill"]


@pytest.fixture(scope="module")
def mixed_run(faulty_plugin, ray_session, tmp_path_factory):
    """One search of six trials: a healthy one and one per fault, each striking at epoch 2."""
    root = tmp_path_factory.mktemp("mixed")
    space = faulty_space(root / "space.yaml", FAULTS, EPOCHS, FAULT_EPOCH, root)
    code = search(blobs_csv(root / "blobs.csv"), space, root / "run")
    return code, root / "run"


def test_a_search_with_failing_trials_still_refits_and_saves_the_healthy_best(mixed_run):
    code, run_dir = mixed_run
    assert code == 0
    best = json.loads((run_dir / "result.json").read_text())["best"]
    assert best["config"]["architecture"]["fault"] == "none"
    assert (run_dir / "model" / "weights.pt").is_file()


def test_the_healthy_trial_finishes_every_epoch_with_its_metrics(mixed_run):
    _, run_dir = mixed_run
    healthy = read_trials(run_dir)["none"]
    assert healthy["status"] == "completed" and healthy["error"] == ""
    assert epochs_of(healthy) == [1, 2, 3]
    assert all(np.isfinite(row["val_accuracy"]) for row in healthy["history"])
    assert read_leaderboard(run_dir)["none"]["rank"] == 1


@pytest.mark.parametrize("fault, status, reason", [
    ("raise", "error", "RuntimeError: injected fault at epoch 2"),
    ("nan", "diverged", "loss is nan at epoch 2"),
    ("oom", "out of memory", "can't allocate memory"),
    ("memory_error", "out of memory", "MemoryError: Unable to allocate"),
    ("kill", "worker died", "the trial's worker process died"),
])
def test_each_failure_is_recorded_with_its_status_and_reason_in_every_leaderboard_file(mixed_run, fault, status, reason):
    _, run_dir = mixed_run
    trial = read_trials(run_dir)[fault]
    assert trial["status"] == status and reason in trial["error"]
    assert "\n" not in trial["error"] and "Traceback" not in trial["error"]
    row = read_leaderboard(run_dir)[fault]
    assert row["status"] == f"{status}: {trial['error']}"
    assert pd.isna(row["val_accuracy"])  # a failed trial is not ranked among the finished ones
    assert f"{status}: {trial['error']}".replace("|", "\\|") in (run_dir / "leaderboard.md").read_text()


def test_out_of_memory_reasons_suggest_a_smaller_batch_size(mixed_run):
    _, run_dir = mixed_run
    for fault in ("oom", "memory_error"):
        assert "try a smaller batch_size (this trial used 32)" in read_trials(run_dir)[fault]["error"]


@pytest.mark.parametrize("fault", ["raise", "nan", "oom", "memory_error", "kill"])
def test_a_failed_trial_keeps_the_epochs_it_finished_before_the_fault(mixed_run, fault):
    _, run_dir = mixed_run
    trial = read_trials(run_dir)[fault]
    finished = [row for row in trial["history"] if row.get("val_accuracy") is not None]  # NaN is null in JSON
    assert [row["epoch"] for row in finished] == [1]
    assert read_leaderboard(run_dir)[fault]["epochs_run"] >= 1


def test_a_diverged_trial_stops_at_once_and_keeps_its_last_finite_metrics(mixed_run):
    _, run_dir = mixed_run
    diverged = read_trials(run_dir)["nan"]
    assert epochs_of(diverged) == [1, 2]  # epoch 3 never ran
    assert diverged["metrics"]["best_epoch"] == 1 and np.isfinite(diverged["metrics"]["best_val_accuracy"])
    assert diverged["history"][0]["val_accuracy"] == diverged["metrics"]["best_val_accuracy"]


def test_a_cuda_out_of_memory_error_is_named_with_the_batch_size_hint():
    # No GPU here: the CUDA error class itself, as torch raises it in a trial.
    import torch

    from automl.training.failures import failure_of

    error = torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 7.79 GiB total)\nmore")
    status, reason = failure_of(error, {}, {"batch_size": 512})
    assert status == "out of memory"
    assert reason.startswith("OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB")
    assert "try a smaller batch_size (this trial used 512)" in reason and "\n" not in reason


# -- retries ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def retried_run(faulty_plugin, ray_session, tmp_path_factory):
    """A trial that raises once and one whose worker is SIGKILLed once, at the start of epoch 4
    of 4, with a checkpoint every 2 epochs and --max-failures 1; plus a healthy trial."""
    root = tmp_path_factory.mktemp("retried")
    space = faulty_space(root / "space.yaml", ["none", "raise", "kill"], 4, 4, root, once=True)
    code = search(blobs_csv(root / "blobs.csv"), space, root / "run", "--max-failures", "1", "--checkpoint-every", "2")
    return code, root


@pytest.fixture(scope="module")
def retried_under_the_defaults(faulty_plugin, ray_session, tmp_path_factory):
    """The shipped defaults (5-fold cross-validation, the ensemble and the bag: checkpoints hold
    the best epoch's outputs and fold models, no training state) and --max-failures 1: a trial
    that raises once and one whose worker is SIGKILLed once, at the start of epoch 3 of 4."""
    root = tmp_path_factory.mktemp("retried_defaults")
    space = faulty_space(root / "space.yaml", ["none", "raise", "kill"], 4, 3, root, once=True)
    code = search(blobs_csv(root / "blobs.csv"), space, root / "run", "--max-failures", "1", preset=SHIPPED_DEFAULTS_FLAGS)
    return code, root


def assert_every_crashed_trial_completed(code: int, root: Path) -> None:
    assert code == 0
    trials = read_trials(root / "run")
    assert {fault: t["status"] for fault, t in trials.items()} == {"none": "completed", "raise": "completed", "kill": "completed"}
    assert (root / "raise.struck").exists() and (root / "kill.struck").exists()  # the faults did strike
    assert set(read_leaderboard(root / "run")) == {"none", "raise", "kill"}


def test_with_max_failures_every_crashed_trial_is_retried_and_completes(retried_run):
    assert_every_crashed_trial_completed(*retried_run)


def test_under_the_shipped_defaults_every_crashed_trial_is_retried_and_completes(retried_under_the_defaults):
    assert_every_crashed_trial_completed(*retried_under_the_defaults)


@pytest.mark.parametrize("fault", ["raise", "kill"])
def test_a_retried_trial_resumes_from_its_checkpoint_not_from_scratch(retried_run, fault):
    _, root = retried_run
    # The fault struck as epoch 4 started; the retry restored the epoch-2 checkpoint and trained
    # epochs 3 and 4 (a restart from scratch would have started again at epoch 1).
    assert (root / f"{fault}.epochs").read_text().split() == ["1", "2", "3", "4", "3", "4"]
    trial = read_trials(root / "run")[fault]
    assert epochs_of(trial) == [1, 2, 3, 4] and trial["metrics"]["epoch"] == 4  # the retry's epoch 3 replaced the first


@pytest.mark.parametrize("fault", ["raise", "kill"])
def test_a_retry_handed_a_checkpoint_without_training_state_starts_again_from_epoch_1(retried_under_the_defaults, fault):
    _, root = retried_under_the_defaults
    # Each of the 5 fold models counts the epochs it starts. The fault struck as the first fold
    # model started epoch 3; the retry's checkpoint held the best outputs but no training state,
    # so the trial trained epochs 1 to 4 again.
    started = [int(line) for line in (root / f"{fault}.epochs").read_text().split()]
    assert started == [1] * 5 + [2] * 5 + [3] + [1] * 5 + [2] * 5 + [3] * 5 + [4] * 5
    trial = read_trials(root / "run")[fault]
    assert epochs_of(trial) == [1, 2, 3, 4] and trial["metrics"]["folds"] == 5  # cross-validated, as shipped
    # It kept its best so far: its checkpoint holds the outputs and fold models of its best epoch.
    assert trial["metrics"]["best_epoch"] >= 1 and (Path(trial["checkpoint"]) / "val_outputs.npy").is_file()


def test_max_failures_must_not_be_negative(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["search", "digits", "--max-failures", "-1"])
    assert exited.value.code == 2 and "--max-failures" in capsys.readouterr().err


# -- every trial fails ----------------------------------------------------------------------


def test_a_search_in_which_every_trial_fails_exits_1_with_a_summary_and_keeps_its_records(faulty_plugin, ray_session, tmp_path, capsys):
    space = faulty_space(tmp_path / "space.yaml", ["raise", "nan", "raise"], EPOCHS, 1, tmp_path)
    code = search(blobs_csv(tmp_path / "blobs.csv"), space, tmp_path / "run")
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("automl: ")]
    assert lines[:3] == [
        "automl: every trial failed (3 trials); reasons:",
        "automl:   2 x error: RuntimeError: injected fault at epoch 1",
        "automl:   1 x diverged: loss is nan at epoch 1",
    ]
    assert len(lines) == 4 and "trials.jsonl" in lines[-1]
    run_dir = tmp_path / "run"
    assert len(pd.read_csv(run_dir / "leaderboard.csv")) == 3
    assert len((run_dir / "trials.jsonl").read_text().splitlines()) == 3
    assert not (run_dir / "model").exists()


# -- two searches at once ---------------------------------------------------------------------


def test_run_directories_with_the_same_name_get_different_tune_experiments(tmp_path):
    from automl.engine.run import experiment_location

    first, second = experiment_location(tmp_path / "a" / "run", None), experiment_location(tmp_path / "b" / "run", None)
    assert first != second
    for location, parent in ((first, "a"), (second, "b")):
        assert Path(*location) == tmp_path.resolve() / parent / "run" / "trials"  # records stay in RUN_DIR/trials


def start_search(data: Path, target: str, space: Path, run_dir: Path, *flags: str) -> subprocess.Popen:
    """``automl search`` in its own process."""
    return subprocess.Popen(
        [sys.executable, "-m", "automl", "search", str(data), "--target", target, "--space", str(space),
         "--scheduler", "fifo", "--num-trials", "1", "--output", str(run_dir), "-q", *HOLDOUT_NO_ENSEMBLE_FLAGS, *UNTRACKED_FLAGS,
         *flags],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "WANDB_MODE": "disabled"},
    )


def two_searches_at_once(tmp_path: Path, blobs_frame, regression_frame, *flags: str) -> None:
    """A classification and a regression search side by side, each in its own run directory;
    each ends with its own two trials, its own trial folders and its own model."""
    blobs_frame.to_csv(tmp_path / "blobs.csv", index=False)
    regression_frame.to_csv(tmp_path / "reg.csv", index=False)
    space = tmp_path / "space.yaml"
    space.write_text(
        "epochs: 2\nbatch_size: 32\narchitectures:\n  include: [mlp]\n  mlp: {depth: 1, width: {grid: [8, 16]}}\n"
        "optimizers:\n  include: [adam]\n  adam: {lr: 0.01}\nregularizers:\n  include: []\n"
    )
    runs = {"blobs": ("species", "val_accuracy", "multiclass"), "reg": ("y", "val_rmse", "regression")}
    processes = {name: start_search(tmp_path / f"{name}.csv", target, space, tmp_path / name, *flags)
                 for name, (target, _, _) in runs.items()}
    for name, process in processes.items():
        _, err = process.communicate(timeout=400)
        assert process.returncode == 0, err[-2000:]
    trial_ids = {}
    for name, (_, metric, task) in runs.items():
        run_dir = tmp_path / name
        frame = pd.read_csv(run_dir / "leaderboard.csv")
        assert len(frame) == 2 and (frame["status"] == "completed").all() and frame[metric].notna().all()
        trial_ids[name] = set(frame["trial_id"])
        assert trial_ids[name] == {p.name for p in (run_dir / "trials").iterdir() if p.is_dir()}
        assert {json.loads(line)["trial_id"] for line in (run_dir / "trials.jsonl").read_text().splitlines()} == trial_ids[name]
        assert json.loads((run_dir / "model" / "model.json").read_text())["task"] == task
        assert json.loads((run_dir / "result.json").read_text())["best"]["trial_id"] in trial_ids[name]
    assert not trial_ids["blobs"] & trial_ids["reg"]


@pytest.mark.slow
def test_two_searches_at_once_on_one_ray_cluster_do_not_interfere(ray_session, tmp_path, blobs_frame, regression_frame):
    # Without a name unique to each run directory, Tune staged both experiments' files in one
    # folder of the Ray session whenever they started in the same second, and each run directory
    # got the other's trial folders.
    address = ray_session.get_runtime_context().gcs_address
    two_searches_at_once(tmp_path, blobs_frame, regression_frame, "--address", address)


@pytest.mark.slow
def test_two_searches_at_once_each_with_its_own_local_ray_do_not_interfere(tmp_path, blobs_frame, regression_frame):
    two_searches_at_once(tmp_path, blobs_frame, regression_frame)
