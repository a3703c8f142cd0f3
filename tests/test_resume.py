"""Resume after a crash: a real ``automl search`` process is killed with SIGKILL (its whole
process group, Ray included) at several points, then ``automl resume`` finishes it.

Kill points are found by watching the run directory's files, not by sleeping: the search
log (``search_log.jsonl``) for trials running or just ended, the stage marker
(``search_state.json``) for the refit.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from automl.cli import main
from artifact_helpers import HOLDOUT_NO_ENSEMBLE

SPACE = """
epochs: 12
batch_size: 16
architectures:
  include: [mlp]
  mlp: {depth: 2, width: {choice: [32, 64]}, normalization: none}
optimizers:
  include: [adam]
  adam: {lr: {loguniform: [1.0e-3, 1.0e-2]}}
regularizers:
  include: [dropout]
  dropout: {enabled: true, p: 0.1}
"""
NUM_TRIALS = 3
TIMEOUT_S = 240


def search_command(run_dir: Path, space: Path, scheduler: str = "fifo") -> list[str]:
    return [
        sys.executable, "-m", "automl", "search", "iris", "--space", str(space), "--num-trials", str(NUM_TRIALS),
        "--max-concurrent", "1", "--scheduler", scheduler, "--checkpoint-every", "1", "--no-wandb", "-q",
        "--output", str(run_dir), *HOLDOUT_NO_ENSEMBLE,
    ]


def start(command: list[str], log: Path) -> subprocess.Popen:
    """A CLI process in its own process group: its local Ray (raylet, GCS, workers) joins that group."""
    env = dict(os.environ, WANDB_MODE="disabled", TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S="0")
    return subprocess.Popen(command, start_new_session=True, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env)


def search_log(run_dir: Path) -> list[dict]:
    path = run_dir / "search_log.jsonl"
    if not path.is_file():
        return []
    entries = []
    for line in path.read_text().splitlines():
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            pass  # the line being written
    return entries


def stage(run_dir: Path) -> str:
    path = run_dir / "search_state.json"
    try:
        return json.loads(path.read_text())["stage"] if path.is_file() else ""
    except json.JSONDecodeError:
        return ""


def kill_when(process: subprocess.Popen, ready, log: Path) -> None:
    """SIGKILL the whole process group as soon as ``ready()``; then check that nothing of it is left."""
    deadline = time.monotonic() + TIMEOUT_S
    while not ready():
        assert process.poll() is None, f"the search ended before the kill point:\n{log.read_text()[-2000:]}"
        assert time.monotonic() < deadline, "the kill point never came"
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert wait_for_empty_group(process.pid), "processes of the killed search (Ray's raylet, GCS, workers) are left"


def wait_for_empty_group(pgid: int, timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not live_members(pgid):
            return True
        time.sleep(0.2)
    return False


def live_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def resume(run_dir: Path, log: Path) -> None:
    process = start([sys.executable, "-m", "automl", "resume", str(run_dir), "-q"], log)
    try:
        assert process.wait(timeout=TIMEOUT_S) == 0, log.read_text()[-3000:]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert wait_for_empty_group(process.pid)


def finished_trials(entries: list[dict]) -> dict[str, list[dict]]:
    """Each ended trial's results as the killed driver logged them."""
    ended = {e["trial_id"] for e in entries if e["event"] == "end"}
    results: dict[str, list[dict]] = {}
    for e in entries:
        if e["event"] == "result" and e["trial_id"] in ended:
            results.setdefault(e["trial_id"], []).append(e["result"])
    return results


def saved_trials(run_dir: Path) -> dict[str, dict]:
    return {t["trial_id"]: t for t in map(json.loads, (run_dir / "trials.jsonl").read_text().splitlines())}


def assert_complete_and_predicts(run_dir: Path, tmp_path: Path, statuses=("completed",)) -> pd.DataFrame:
    board = pd.read_csv(run_dir / "leaderboard.csv")
    assert len(board) == NUM_TRIALS and set(board["status"]) <= set(statuses)
    assert stage(run_dir) == "done"
    from sklearn.datasets import load_iris

    rows = tmp_path / "rows.csv"
    load_iris(as_frame=True).data.head(5).to_csv(rows, index=False)
    assert main(["predict", str(run_dir / "model"), str(rows), "-o", str(tmp_path / "predictions.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "predictions.csv")) == 5
    return board


@pytest.fixture
def space(tmp_path) -> Path:
    path = tmp_path / "space.yaml"
    path.write_text(SPACE)
    return path


@pytest.fixture(scope="module")
def killed_during_a_trial(tmp_path_factory):
    """A search killed while its second trial trains (the first has ended), then resumed."""
    tmp_path = tmp_path_factory.mktemp("during")
    space = tmp_path / "space.yaml"
    space.write_text(SPACE)
    run_dir = tmp_path / "run"
    log = tmp_path / "search.log"
    process = start(search_command(run_dir, space), log)

    def second_trial_is_training() -> bool:
        entries = search_log(run_dir)
        ended = {e["trial_id"] for e in entries if e["event"] == "end"}
        return any(e["event"] == "result" and e["trial_id"] not in ended and e["result"]["epoch"] >= 3 for e in entries) and bool(ended)

    kill_when(process, second_trial_is_training, log)
    before = search_log(run_dir)
    spent_before = json.loads((run_dir / "search_state.json").read_text())["search_seconds"]
    resume(run_dir, tmp_path / "resume.log")
    return run_dir, before, spent_before, tmp_path


def test_a_search_killed_during_a_trial_keeps_its_finished_trials_unchanged(killed_during_a_trial):
    run_dir, before, _, _ = killed_during_a_trial
    finished = finished_trials(before)
    assert finished, "no trial had ended before the kill"
    saved = saved_trials(run_dir)
    for trial_id, results in finished.items():
        final = results[-1]
        # trials.jsonl keeps 15 decimals (pandas' most)
        assert saved[trial_id]["metrics"]["best_val_accuracy"] == pytest.approx(final["best_val_accuracy"], rel=1e-9)
        assert saved[trial_id]["metrics"]["epoch"] == final["epoch"]
        assert [row["val_loss"] for row in saved[trial_id]["history"]] == pytest.approx([row["val_loss"] for row in results], rel=1e-9)


def test_the_unfinished_trial_restarts_from_its_last_checkpoint_not_from_epoch_one(killed_during_a_trial):
    run_dir, before, _, _ = killed_during_a_trial
    ended = {e["trial_id"] for e in before if e["event"] == "end"}
    interrupted = {e["trial_id"] for e in before if e["event"] == "result"} - ended
    after = search_log(run_dir)[len(before):]
    for trial_id in interrupted:
        first_epoch_after = next(e["result"]["epoch"] for e in after if e["event"] == "result" and e["trial_id"] == trial_id)
        assert first_epoch_after > 1
        # Its history is one unbroken run of epochs: the repeated ones replaced, none missing.
        history = saved_trials(run_dir)[trial_id]["history"]
        assert [row["epoch"] for row in history] == list(range(1, len(history) + 1))


def test_a_resumed_search_ranks_every_trial_saves_a_model_and_counts_the_time_already_spent(killed_during_a_trial):
    run_dir, before, spent_before, tmp_path = killed_during_a_trial
    assert_complete_and_predicts(run_dir, tmp_path)
    assert json.loads((run_dir / "search_state.json").read_text())["search_seconds"] > spent_before > 0
    # The search timeline goes on from the killed driver's epochs and seconds.
    from automl.tracking.timeline import read_timeline

    timeline = read_timeline(run_dir)
    assert {row["trial_id"] for row in timeline} == set(pd.read_csv(run_dir / "leaderboard.csv")["trial_id"])
    last_second_before_the_kill = max(e["wall_s"] for e in before if e["event"] == "result")
    assert timeline[0]["wall_s"] <= last_second_before_the_kill < timeline[-1]["wall_s"]


def test_resuming_a_finished_search_is_one_clear_error(killed_during_a_trial, capsys):
    run_dir, *_ = killed_during_a_trial
    assert main(["resume", str(run_dir)]) == 2
    assert "already finished" in capsys.readouterr().err
    assert main(["search", "iris", "--resume", "--output", str(run_dir)]) == 2
    assert "already finished" in capsys.readouterr().err


def test_resuming_a_directory_that_holds_no_search_is_one_clear_error(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("not a search")
    assert main(["resume", str(tmp_path)]) == 2
    assert "no search to resume" in capsys.readouterr().err


def test_a_search_given_in_memory_data_needs_the_data_again_to_resume(tmp_path, blobs_frame):
    from automl import AutoML
    from automl.errors import AutoMLError
    from automl.resume import write_request

    write_request(tmp_path, blobs_frame, AutoML(target="species").options, "fingerprint")
    with pytest.raises(AutoMLError, match="in-memory data"):
        AutoML.resume(tmp_path)
    assert main(["resume", str(tmp_path)]) == 2


def killed_after_its_first_trial(space: Path, tmp_path: Path) -> Path:
    """A search (ASHA, whose bookkeeping is resumed too) killed as its first trial ends, with
    Tune's searcher state whole: a kill that lands while Tune rewrites that state in place cuts
    it short (the test below), so such a kill is tried again, up to three times."""
    from automl.resume import cut_searcher_state

    for attempt in range(3):
        run_dir, log = tmp_path / f"run{attempt}", tmp_path / f"search{attempt}.log"
        process = start(search_command(run_dir, space, scheduler="asha"), log)
        kill_when(process, lambda: any(e["event"] == "end" for e in search_log(run_dir)), log)
        if not cut_searcher_state(run_dir / "trials"):
            return run_dir
    pytest.fail("three kills in a row cut Tune's searcher state short")


@pytest.mark.slow
def test_a_search_killed_between_trials_runs_only_the_trials_left(space, tmp_path):
    run_dir = killed_after_its_first_trial(space, tmp_path)
    before = search_log(run_dir)
    resume(run_dir, tmp_path / "resume.log")
    after = search_log(run_dir)[len(before):]
    finished = finished_trials(before)
    assert not {e["trial_id"] for e in after if e["event"] == "result"} & set(finished)  # not run again
    saved = saved_trials(run_dir)
    for trial_id, results in finished.items():
        assert saved[trial_id]["metrics"]["best_val_accuracy"] == pytest.approx(results[-1]["best_val_accuracy"], rel=1e-9)
    assert_complete_and_predicts(run_dir, tmp_path, statuses=("completed", "stopped early"))
    assert (run_dir / "scheduler_state.json").is_file()


@pytest.mark.slow
def test_a_search_whose_searcher_state_the_kill_cut_short_is_refused_with_the_reason(space, tmp_path):
    run_dir, log = killed_after_its_first_trial(space, tmp_path), tmp_path / "resume.log"
    # What a kill during Tune's in-place write leaves (seen in CI): Tune's own restore would
    # log an error, start an empty run and drop the finished trial.
    for path in [*(run_dir / "trials").glob("searcher-state-*.pkl"), *(run_dir / "trials").glob("search_gen_state-*.json")]:
        path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    journal = (run_dir / "search_log.jsonl").read_text()
    process = start([sys.executable, "-m", "automl", "resume", str(run_dir), "-q"], log)
    assert process.wait(timeout=TIMEOUT_S) == 2
    error = log.read_text()
    assert "was cut short when the search was killed" in error and "new --output folder" in error
    assert (run_dir / "search_log.jsonl").read_text() == journal  # the finished trial's results are kept


@pytest.mark.slow
def test_a_search_killed_while_refitting_refits_again_without_searching(space, tmp_path):
    run_dir, log = tmp_path / "run", tmp_path / "search.log"
    process = start(search_command(run_dir, space), log)
    kill_when(process, lambda: stage(run_dir) == "refitting", log)
    board_before = pd.read_csv(run_dir / "leaderboard.csv")
    log_lines = len(search_log(run_dir))
    resume(run_dir, tmp_path / "resume.log")
    assert len(search_log(run_dir)) == log_lines  # no trial ran again
    board = assert_complete_and_predicts(run_dir, tmp_path)
    pd.testing.assert_frame_equal(board, board_before)
    result = json.loads((run_dir / "result.json").read_text())
    assert result["best"]["trial_id"] == board.loc[0, "trial_id"]


def test_a_trial_handed_a_deleted_checkpoint_restarts_from_its_newest_real_one(tmp_path):
    # Tune's saved state can lag behind a kill: it names checkpoint 9 as the latest, which the
    # killed driver had already replaced by 10 and 11 (num_to_keep=2) and deleted.
    # The kill cut short checkpoint 12 as the trial wrote it.
    import torch

    from automl.trial import CHECKPOINT_FILE, training_state_file

    for index in (9, 10, 11, 12):
        (tmp_path / f"checkpoint_{index:06d}").mkdir()
    for index in (10, 11, 12):
        torch.save({"epoch": index}, tmp_path / f"checkpoint_{index:06d}" / CHECKPOINT_FILE)
    whole = (tmp_path / "checkpoint_000012" / CHECKPOINT_FILE).read_bytes()
    (tmp_path / "checkpoint_000012" / CHECKPOINT_FILE).write_bytes(whole[: len(whole) // 2])
    assert training_state_file(tmp_path / "checkpoint_000009") == tmp_path / "checkpoint_000011" / CHECKPOINT_FILE
    assert training_state_file(tmp_path / "checkpoint_000010") == tmp_path / "checkpoint_000010" / CHECKPOINT_FILE


def test_epochs_only_a_trial_checkpoint_holds_are_journaled_when_the_search_resumes(tmp_path, monkeypatch):
    # A trial writes its checkpoint before the driver takes the report that carries it. A driver
    # killed in between never journals those epochs, and the resumed trial goes on after them.
    from ray import tune

    from automl.reporting import ReportPlan, epoch_reporter
    from automl.resume import SEARCH_LOG_FILE, journal_checkpointed_epochs, read_search_log

    monkeypatch.setattr(tune, "report", lambda result, checkpoint=None: None)
    experiment, run_dir = tmp_path / "trials", tmp_path / "run"
    run_dir.mkdir()
    rows = {trial_id: [{"epoch": e, "val_loss": 1 / e, "train_loss": 2 / e} for e in range(1, 5)] for trial_id in ("a", "b")}
    for trial_id, trial_rows in rows.items():
        with epoch_reporter(ReportPlan(frozenset(), interval_s=3600)) as reporter:
            for row in trial_rows:
                folder = experiment / trial_id / f"checkpoint_{row['epoch'] // 2 - 1:06d}" if row["epoch"] % 2 == 0 else None
                if folder:
                    folder.mkdir(parents=True)
                reporter.add(row, checkpoint_dir=folder)
    # The driver took epochs 1-2 of both trials, and saw trial b end (its end is what counts).
    journal = [{"event": "result", "trial_id": t, "wall_s": 0.1, "result": row} for t in rows for row in rows[t][:2]]
    journal.append({"event": "end", "trial_id": "b", "status": "terminated", "config": {}})
    (run_dir / SEARCH_LOG_FILE).write_text("".join(json.dumps(entry) + "\n" for entry in journal))

    journal_checkpointed_epochs(experiment, run_dir)
    journal_checkpointed_epochs(experiment, run_dir)  # a second resume adds nothing
    results, _ = read_search_log(run_dir)
    assert results["a"] == rows["a"]  # epochs 3 and 4, from checkpoint_000001
    assert results["b"] == rows["b"][:2]
    assert len(search_log(run_dir)) == len(journal) + 2


def test_asha_bookkeeping_is_saved_as_json_and_a_restored_scheduler_stops_the_same_trials(tmp_path):
    from types import SimpleNamespace

    from ray.tune.schedulers import ASHAScheduler, TrialScheduler

    from automl.resume import SCHEDULER_STATE_FILE, restore_scheduler, scheduler_state

    def asha():
        scheduler = ASHAScheduler(time_attr="epoch", max_t=9, grace_period=1, reduction_factor=3)
        scheduler.set_search_properties("val_accuracy", "max")
        return scheduler

    trials = [SimpleNamespace(trial_id=f"t{i}") for i in range(4)]
    before = asha()
    for trial, accuracy in zip(trials, (0.9, 0.8, 0.7, 0.6)):
        before.on_trial_add(None, trial)
        before.on_trial_result(None, trial, {"epoch": 1, "val_accuracy": accuracy})
    (tmp_path / SCHEDULER_STATE_FILE).write_text(json.dumps(scheduler_state(before)))

    after = asha()
    restore_scheduler(tmp_path, after)
    assert scheduler_state(after) == scheduler_state(before)
    late = SimpleNamespace(trial_id="t4")
    for scheduler in (before, after):
        scheduler.on_trial_add(None, late)
    # Below the rung's cutoff set by the saved results: stopped by the restored scheduler too.
    assert after.on_trial_result(None, late, {"epoch": 1, "val_accuracy": 0.5}) == TrialScheduler.STOP
    assert before.on_trial_result(None, late, {"epoch": 1, "val_accuracy": 0.5}) == TrialScheduler.STOP
    for scheduler in (before, after):
        assert scheduler.on_trial_result(None, trials[0], {"epoch": 3, "val_accuracy": 0.95}) == TrialScheduler.CONTINUE
    assert scheduler_state(after) == scheduler_state(before)
    # A scheduler that started afresh would have let the late trial go on: the state is what stopped it.
    fresh = asha()
    fresh.on_trial_add(None, late)
    assert fresh.on_trial_result(None, late, {"epoch": 1, "val_accuracy": 0.5}) == TrialScheduler.CONTINUE


UNSUPERVISED_SPACES = {
    "cluster": """
epochs: 8
batch_size: 16
architectures:
  include: [autoencoder]
  autoencoder: {latent: 2, width: 16, depth: 1, activation: relu}
losses:
  include: [reconstruction_mse]
optimizers:
  include: [adam]
  adam: {lr: 0.01}
""",
    "generate": """
epochs: 8
batch_size: 16
architectures:
  include: [gan]
  gan: {latent: 4, width: 16, depth: 1}
losses:
  include: [adversarial_bce]
optimizers:
  include: [adam]
  adam: {lr: 0.002, beta1: 0.5}
""",
}


@pytest.mark.slow
@pytest.mark.parametrize("task", ["cluster", "generate"])
def test_an_unsupervised_search_killed_mid_trial_resumes_from_its_checkpoint_in_bf16(task, tmp_path):
    # The unsupervised tasks train in the one loop: checkpoints, bf16 autocast and resume as a supervised search.
    from sklearn.datasets import load_iris

    data = tmp_path / "rows.csv"
    load_iris(as_frame=True).data.to_csv(data, index=False)
    space = tmp_path / "space.yaml"
    space.write_text(UNSUPERVISED_SPACES[task])
    run_dir, log = tmp_path / "run", tmp_path / "search.log"
    command = [sys.executable, "-m", "automl", "search", str(data), "--task", task, "--space", str(space),
               "--num-trials", "2", "--max-concurrent", "1", "--scheduler", "fifo", "--checkpoint-every", "1",
               "--precision", "bf16", "--no-wandb", "-q", "--output", str(run_dir)]
    process = start(command, log)
    kill_when(process, lambda: any(e["event"] == "result" and e["result"]["epoch"] >= 3 for e in search_log(run_dir)), log)
    before = search_log(run_dir)
    interrupted = {e["trial_id"] for e in before if e["event"] == "result"} - {e["trial_id"] for e in before if e["event"] == "end"}
    resume(run_dir, tmp_path / "resume.log")

    after = search_log(run_dir)[len(before):]
    assert interrupted
    for trial_id in interrupted:
        assert next(e["result"]["epoch"] for e in after if e["event"] == "result" and e["trial_id"] == trial_id) > 1
        history = saved_trials(run_dir)[trial_id]["history"]
        assert [row["epoch"] for row in history] == list(range(1, len(history) + 1))
    board = pd.read_csv(run_dir / "leaderboard.csv")
    assert len(board) == 2 and set(board["status"]) == {"completed"} and stage(run_dir) == "done"
    assert (run_dir / "model" / "manifest.json").is_file()
