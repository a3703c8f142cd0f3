"""Resume after a crash: a real ``automl search`` process is killed with SIGKILL (its whole
process group, Ray included) at several points, then ``automl resume`` (run in the test process,
on the session's Ray) finishes it from the run directory's own records (journal, scheduler
state, checkpoints), never from Ray Tune's pickles.

Kill points are found by watching the run directory's files, not by sleeping: the search
log (``search_log.jsonl``) for trials running or just ended, the stage marker
(``search_state.json``) for the refit. The process helpers are the kill benchmark's
(``bench/kill_resume.py``), which kills searches at random moments of every stage.
"""

from __future__ import annotations

import contextlib
import json
import pickle
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from automl.cli import main
from bench.kill_resume import group_members, kill_group, stage_of, start
from bench.kill_resume import journal as search_log
from presets import HOLDOUT_NO_ENSEMBLE_FLAGS, SHIPPED_DEFAULTS_FLAGS

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
        "--output", str(run_dir), *HOLDOUT_NO_ENSEMBLE_FLAGS,
    ]


def kill_when(process, ready, log: Path) -> None:
    """SIGKILL the whole process group as soon as ``ready()``; then check that nothing of it is left."""
    deadline = time.monotonic() + TIMEOUT_S
    while not ready():
        assert process.poll() is None, f"the search ended before the kill point:\n{log.read_text()[-2000:]}"
        assert time.monotonic() < deadline, "the kill point never came"
        time.sleep(0.02)
    kill_group(process)
    assert not group_members(process.pid), "processes of the killed search (Ray's raylet, GCS, workers) are left"


def resume(run_dir: Path, log: Path, wandb_mode: str = "disabled") -> None:
    """``automl resume RUN_DIR -q``, as typed after the crash, run here on the session's Ray. The
    killed search ran in a process of its own with its own Ray (their kill is the subject); a
    resume's own Ray start is not, and would cost a process and a Ray start per test."""
    with pytest.MonkeyPatch.context() as patch, log.open("w") as out, contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(out):
        patch.setenv("WANDB_MODE", wandb_mode)
        code = main(["resume", str(run_dir), "-q"])
    assert code == 0, log.read_text()[-3000:]


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
    assert stage_of(run_dir) == "done"
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
def killed_during_a_trial(ray_session, tmp_path_factory):
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
    from automl.run_directory import RunDirectory

    timeline = RunDirectory(run_dir).read_timeline()
    assert {row["trial_id"] for row in timeline} == set(pd.read_csv(run_dir / "leaderboard.csv")["trial_id"])
    last_second_before_the_kill = max(e["wall_s"] for e in before if e["event"] == "result")
    assert timeline[0]["wall_s"] <= last_second_before_the_kill < timeline[-1]["wall_s"]


def test_resuming_a_finished_search_is_one_clear_error(killed_during_a_trial, capsys):
    run_dir, *_ = killed_during_a_trial
    assert main(["resume", str(run_dir)]) == 2
    assert "already finished" in capsys.readouterr().err
    assert main(["search", "iris", "--resume", "--output", str(run_dir)]) == 2
    assert "already finished" in capsys.readouterr().err


DEFAULTS_SPACE = """
epochs: 8
batch_size: 16
architectures:
  include: [mlp]
  mlp: {depth: 1, width: {choice: [8, 16]}, normalization: none}
optimizers:
  include: [adam]
  adam: {lr: {loguniform: [1.0e-3, 1.0e-2]}}
regularizers:
  include: []
"""


@pytest.fixture(scope="module")
def killed_under_the_shipped_defaults(ray_session, tmp_path_factory):
    """A search with the shipped defaults (5-fold cross-validation, the ensemble and the bag,
    TPE and ASHA; its checkpoints hold no training state) and W&B offline, killed while a trial
    trains after another has ended, then resumed."""
    tmp_path = tmp_path_factory.mktemp("defaults")
    space = tmp_path / "space.yaml"
    space.write_text(DEFAULTS_SPACE)
    run_dir, log = tmp_path / "run", tmp_path / "search.log"
    command = [sys.executable, "-m", "automl", "search", "iris", "--space", str(space), "--num-trials", "4", "-q",
               "--wandb-project", "automl-tests", "--output", str(run_dir), *SHIPPED_DEFAULTS_FLAGS]
    process = start(command, log, wandb_mode="offline")

    def a_trial_trains_after_one_ended() -> bool:
        entries = search_log(run_dir)
        ended = {e["trial_id"] for e in entries if e["event"] == "end"}
        return bool(ended) and any(e["event"] == "result" and e["trial_id"] not in ended for e in entries)

    kill_when(process, a_trial_trains_after_one_ended, log)
    before = search_log(run_dir)
    resume(run_dir, tmp_path / "resume.log", wandb_mode="offline")
    return run_dir, before


def interrupted_trials(entries: list[dict]) -> set[str]:
    """The trials that had reported an epoch and not ended."""
    return {e["trial_id"] for e in entries if e["event"] == "result"} - {e["trial_id"] for e in entries if e["event"] == "end"}


def test_a_search_killed_under_the_shipped_defaults_resumes_with_every_ended_trial_and_its_score(killed_under_the_shipped_defaults):
    run_dir, before = killed_under_the_shipped_defaults
    finished = finished_trials(before)
    assert finished
    saved, board = saved_trials(run_dir), pd.read_csv(run_dir / "leaderboard.csv")
    for trial_id, results in finished.items():
        assert trial_id in set(board["trial_id"])
        assert saved[trial_id]["metrics"]["best_val_accuracy"] == pytest.approx(results[-1]["best_val_accuracy"], rel=1e-9)
    assert stage_of(run_dir) == "done" and (run_dir / "model" / "manifest.json").is_file()
    assert len([t for t in saved if t != "ensemble"]) == 4


def test_a_trial_running_at_the_kill_runs_again_under_its_id_from_epoch_1_keeping_its_best_so_far(killed_under_the_shipped_defaults):
    from automl.training.failures import FAILED_STATUSES

    run_dir, before = killed_under_the_shipped_defaults
    interrupted, after, saved = interrupted_trials(before), search_log(run_dir)[len(before):], saved_trials(run_dir)
    assert interrupted
    for trial_id in interrupted:
        best_at_the_kill = [e["result"]["best_val_accuracy"] for e in before if e["event"] == "result" and e["trial_id"] == trial_id][-1]
        assert saved[trial_id]["status"] not in FAILED_STATUSES and saved[trial_id]["metrics"]["folds"] == 5
        # Its checkpoint held its best outputs but no training state: epoch 1 came again, its best stayed.
        assert next(e["result"]["epoch"] for e in after if e["event"] == "result" and e["trial_id"] == trial_id) == 1
        # (Its best is scored again from the saved outputs: equal up to float rounding.)
        assert saved[trial_id]["metrics"]["best_val_accuracy"] >= best_at_the_kill - 1e-9
        assert [row["epoch"] for row in saved[trial_id]["history"]] == list(range(1, len(saved[trial_id]["history"]) + 1))


def test_a_trial_running_at_the_kill_goes_on_in_its_own_wandb_run(killed_under_the_shipped_defaults):
    from wandb_records import read_offline_run
    from automl.tracking.wandb_runs import trial_run_id

    run_dir, before = killed_under_the_shipped_defaults
    for trial_id in interrupted_trials(before):
        run_id = trial_run_id(run_dir.name, trial_id)
        # An offline run folder from each driver (named by its run id), under the one W&B run id:
        # `wandb sync` makes them one run. (The killed driver's may hold nothing: W&B had not flushed.)
        folders = sorted((run_dir / "wandb").glob(f"offline-run-*-{run_id}"))
        assert len(folders) == 2
        resumed = read_offline_run(folders[-1], wait_s=10.0)
        assert (resumed.run_id, resumed.name) == (run_id, trial_id)
        assert resumed.history and resumed.history[0]["epoch"] == 1


def test_resuming_a_directory_that_holds_no_search_is_one_clear_error(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("not a search")
    assert main(["resume", str(tmp_path)]) == 2
    assert "no search to resume" in capsys.readouterr().err


def test_a_search_given_in_memory_data_needs_the_data_again_to_resume(tmp_path, blobs_frame):
    from automl import AutoML
    from automl.errors import AutoMLError
    from automl.run_directory import RunDirectory

    RunDirectory(tmp_path).write_request(blobs_frame, AutoML(target="species").options, "fingerprint")
    with pytest.raises(AutoMLError, match="in-memory data"):
        AutoML.resume(tmp_path)
    assert main(["resume", str(tmp_path)]) == 2


class TouchesAFileWhenUnpickled:
    """A pickle that runs code when loaded: it creates ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return Path.touch, (self.path,)


@pytest.fixture(scope="module")
def killed_between_trials(ray_session, tmp_path_factory):
    """A search (ASHA, whose bookkeeping is resumed too) killed as its first trial ends; every
    file Ray Tune wrote under ``trials/`` (its experiment state, searcher and tuner pickles) is
    then replaced by a pickle that would create a file if anything loaded it; then resumed."""
    tmp_path = tmp_path_factory.mktemp("between")
    space = tmp_path / "space.yaml"
    space.write_text(SPACE)
    run_dir, log = tmp_path / "run", tmp_path / "search.log"
    process = start(search_command(run_dir, space, scheduler="asha"), log)
    kill_when(process, lambda: any(e["event"] == "end" for e in search_log(run_dir)), log)
    before = search_log(run_dir)
    marker = tmp_path / "code from the run directory ran"
    tune_files = [p for p in (run_dir / "trials").rglob("*") if p.is_file() and not p.parent.name.startswith("checkpoint_")]
    for path in tune_files:
        path.write_bytes(pickle.dumps(TouchesAFileWhenUnpickled(marker)))
    resume(run_dir, tmp_path / "resume.log")
    return run_dir, before, tune_files, marker, tmp_path


@pytest.mark.slow
def test_a_search_killed_between_trials_runs_only_the_trials_left(killed_between_trials):
    run_dir, before, _, _, tmp_path = killed_between_trials
    after = search_log(run_dir)[len(before):]
    finished = finished_trials(before)
    assert finished and not {e["trial_id"] for e in after if e["event"] == "result"} & set(finished)  # not run again
    saved = saved_trials(run_dir)
    for trial_id, results in finished.items():
        assert saved[trial_id]["metrics"]["best_val_accuracy"] == pytest.approx(results[-1]["best_val_accuracy"], rel=1e-9)
    assert_complete_and_predicts(run_dir, tmp_path, statuses=("completed", "stopped early"))
    assert (run_dir / "scheduler_state.json").is_file()


@pytest.mark.slow
def test_resume_reads_none_of_ray_tunes_files_so_a_run_directory_from_someone_else_runs_no_code(killed_between_trials, tmp_path):
    run_dir, _, tune_files, marker, _ = killed_between_trials
    assert {p.suffix for p in tune_files} >= {".pkl", ".json"}  # Tune did write its pickles and its state
    pickle.loads(pickle.dumps(TouchesAFileWhenUnpickled(tmp_path / "loaded")))
    assert (tmp_path / "loaded").exists()  # what loading one of them would have done
    assert not marker.exists() and stage_of(run_dir) == "done"


@pytest.mark.slow
def test_a_search_killed_while_refitting_refits_again_without_searching(ray_session, space, tmp_path):
    run_dir, log = tmp_path / "run", tmp_path / "search.log"
    process = start(search_command(run_dir, space), log)
    kill_when(process, lambda: stage_of(run_dir) == "refitting", log)
    board_before = pd.read_csv(run_dir / "leaderboard.csv")
    log_lines = len(search_log(run_dir))
    resume(run_dir, tmp_path / "resume.log")
    assert len(search_log(run_dir)) == log_lines  # no trial ran again
    board = assert_complete_and_predicts(run_dir, tmp_path)
    pd.testing.assert_frame_equal(board, board_before)
    result = json.loads((run_dir / "result.json").read_text())
    assert result["best"]["trial_id"] == board.loc[0, "trial_id"]


def test_epochs_only_a_trial_checkpoint_holds_are_journaled_when_the_search_resumes(tmp_path):
    # A trial writes its checkpoint before the driver takes the report that carries it. A driver
    # killed in between never journals those epochs, and the resumed trial goes on after them.
    from automl.resume import journal_checkpointed_epochs
    from automl.run_directory import SEARCH_LOG_FILE, RunDirectory
    from automl.training.checkpoints import Progress, read_checkpoint, write_checkpoint

    rows = {trial_id: [{"epoch": e, "val_loss": 1 / e, "train_loss": 2 / e} for e in range(1, 5)] for trial_id in ("a", "b")}
    checkpoints = {}
    for trial_id, trial_rows in rows.items():
        folder = tmp_path / "trials" / trial_id / "checkpoint_000001"
        folder.mkdir(parents=True)
        write_checkpoint(folder, Progress(4, 0.5, 4), trial_rows[2:], training_state={"epoch": 4})  # the report of epochs 3-4
        checkpoints[trial_id] = read_checkpoint(folder)
    # The driver took epochs 1-2 of both trials, and saw trial b end (its end is what counts).
    journal = [{"event": "result", "trial_id": t, "wall_s": 0.1, "result": row} for t in rows for row in rows[t][:2]]
    journal.append({"event": "end", "trial_id": "b", "status": "terminated", "config": {}})
    (tmp_path / SEARCH_LOG_FILE).write_text("".join(json.dumps(entry) + "\n" for entry in journal))

    journal_checkpointed_epochs(tmp_path, checkpoints)
    journal_checkpointed_epochs(tmp_path, checkpoints)  # a second resume adds nothing
    results = RunDirectory(tmp_path).read_journal().results
    assert results["a"] == rows["a"]  # epochs 3 and 4, from its checkpoint
    assert results["b"] == rows["b"][:2]
    assert len(search_log(tmp_path)) == len(journal) + 2


def test_a_resumed_random_or_grid_search_runs_its_interrupted_trials_first_under_their_ids_and_skips_what_ran(tmp_path):
    from ray import tune
    from ray.tune.experiment import Experiment
    from ray.tune.search.basic_variant import BasicVariantGenerator

    from automl.resumed_search import ResumedTrial, resumed_trials_first
    from automl.training.checkpoints import Progress, write_checkpoint

    # Trial "old" (x=2) was running, with a whole checkpoint 3 and checkpoint 4 cut short by the kill.
    for index in (3, 4):
        (tmp_path / "old" / f"checkpoint_{index:06d}").mkdir(parents=True)
        write_checkpoint(tmp_path / "old" / f"checkpoint_{index:06d}", Progress(index, 0.5, index), [])
    (tmp_path / "old" / "checkpoint_000004" / "checkpoint.json").unlink()
    resumed = ResumedTrial.of("old", {"x": 2}, tmp_path / "old")
    experiment = Experiment("e", lambda config: None, config={"x": tune.grid_search([1, 2, 3, 4])}, storage_path=str(tmp_path / "s"))
    # The grid's seeded sequence comes again from the top: x=1 ended before the kill, x=2 is "old".
    search = resumed_trials_first(BasicVariantGenerator(random_state=0), [resumed], skip_configs=[{"x": 1.0}, {"x": 2}])
    search.add_configurations([experiment])
    trials = []
    while (trial := search.next_trial()) is not None:
        trials.append(trial)
    assert [(t.trial_id, t.config["x"]) for t in trials[:1]] == [("old", 2)]
    assert [t.config["x"] for t in trials[1:]] == [3, 4] and search.is_finished()
    # Tune restores "old" from its newest whole checkpoint, and numbers its next one after every folder it has.
    assert trials[0].checkpoint.path == str(tmp_path / "old" / "checkpoint_000003")
    assert trials[0].storage.current_checkpoint_index == 4


def test_a_resumed_trial_keeps_only_the_checkpoint_it_goes_on_from(tmp_path):
    from automl.resumed_search import remove_other_checkpoints
    from automl.training.checkpoints import Progress, checkpoint_folders, newest_whole_checkpoint, write_checkpoint

    for index in (1, 2, 3):
        (tmp_path / f"checkpoint_{index:06d}").mkdir()
        write_checkpoint(tmp_path / f"checkpoint_{index:06d}", Progress(index, 0.5, index), [])
    (tmp_path / "checkpoint_000003" / "epochs.json").write_text("[")  # cut short by the kill
    kept = newest_whole_checkpoint(tmp_path)
    remove_other_checkpoints(tmp_path, kept)
    assert checkpoint_folders(tmp_path) == [tmp_path / "checkpoint_000002"] == [kept.folder]


def test_the_trials_a_resumed_tpe_search_ran_are_in_its_optuna_study_with_their_scores():
    import yaml

    from automl.engine.searchers import make_searcher
    from automl.registry import load_registry
    from automl.resumed_search import optuna_search_in
    from automl.space import build_search_space

    space = build_search_space(load_registry(), yaml.safe_load(SPACE), "multiclass", "tabular")
    searcher = optuna_search_in(make_searcher("tpe", space, "accuracy", "max", 0, None))
    ended, failed = searcher.suggest("a"), searcher.suggest("b")  # two configs a killed driver ran
    study_before = len(searcher._ot_study.trials)
    searcher.tell_finished(ended, {"val_accuracy": 0.9, "best_val_accuracy": 0.95})
    searcher.tell_finished(failed, None)
    told = searcher._ot_study.trials[study_before:]
    assert [(t.state.name, t.value) for t in told] == [("COMPLETE", 0.9), ("FAIL", None)]
    assert told[0].params == searcher._ot_trials["a"].params  # the same parameters, as Optuna names them


def test_asha_bookkeeping_is_saved_as_json_and_a_restored_scheduler_stops_the_same_trials(tmp_path):
    from types import SimpleNamespace

    from ray.tune.schedulers import ASHAScheduler, TrialScheduler

    from automl.resume import restore_scheduler, scheduler_state
    from automl.run_directory import SCHEDULER_STATE_FILE

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
def test_an_unsupervised_search_killed_mid_trial_resumes_from_its_checkpoint_in_bf16(ray_session, task, tmp_path):
    # The unsupervised tasks train in the one loop: checkpoints, bf16 autocast and resume as a supervised search.
    from sklearn.datasets import load_iris

    data = tmp_path / "rows.csv"
    load_iris(as_frame=True).data.to_csv(data, index=False)
    space = tmp_path / "space.yaml"
    space.write_text(UNSUPERVISED_SPACES[task])
    run_dir, log = tmp_path / "run", tmp_path / "search.log"
    command = [sys.executable, "-m", "automl", "search", str(data), "--task", task, "--space", str(space),
               "--num-trials", "1", "--scheduler", "fifo", "--checkpoint-every", "1",
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
    assert len(board) == 1 and set(board["status"]) == {"completed"} and stage_of(run_dir) == "done"
    assert (run_dir / "model" / "manifest.json").is_file()
