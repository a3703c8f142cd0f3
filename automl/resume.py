"""What a search journals while it runs, so that a search whose driver died can go on.

The files are the run directory's (:mod:`automl.run_directory` names, reads and writes them):
the request and the state, the journal (``search_log.jsonl``) and the scheduler's state.
This module fills them while a search runs: :func:`split_fingerprint` is what the request
keeps of the split; :class:`SearchLog` (made by :func:`make_search_log`) is the Ray Tune
callback that journals every trial's start, epochs and end, refreshes the state and saves
the scheduler's bookkeeping; :func:`restore_scheduler` gives it back to a resumed search's
scheduler; :func:`journal_checkpointed_epochs` journals the epochs only a checkpoint holds.

With the trials' checkpoints (``automl.training.checkpoints``), these are everything a resumed search
reads (``automl.resumed_search``): JSON, and weights loaded with ``torch.load(weights_only=True)``.
Ray Tune's own experiment state under the experiment folder (its pickles) is never read back.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from automl.errors import AutoMLError
from automl.run_directory import RunDirectory
from automl.run_records import append_epoch
from automl.training.report_schedule import epoch_results, seconds_before_latest


def split_fingerprint(prepared, space_spec: dict | None = None) -> str:
    """A SHA-256 of the train and validation arrays and the space: a resumed search must see the same."""
    digest = hashlib.sha256(json.dumps(space_spec or {}, sort_keys=True, default=str).encode())
    for array in (prepared.X_train, prepared.y_train, prepared.X_val, prepared.y_val):
        try:
            digest.update(memoryview(array).tobytes())
        except (TypeError, ValueError):  # object arrays (text): their text is what matters
            digest.update(repr(list(array)).encode())
    return digest.hexdigest()


def make_search_log(run_dir: RunDirectory, scheduler, spent_s: float = 0.0):
    """The Ray Tune callback that journals a search into its run directory (see the module docstring).

    ``spent_s`` is the search time spent before this driver started (0 for a new search).
    Results for trials that a previous driver saw end are ignored: a resumed search does not
    run them again.
    """
    from ray import tune

    class SearchLog(tune.Callback):
        def __init__(self) -> None:
            self.run_dir = RunDirectory(run_dir)
            self.scheduler = scheduler
            self.spent_before = spent_s
            self.journal = self.run_dir.read_journal()
            self.results, self.ends = self.journal.results, self.journal.ends
            self.started = time.monotonic()
            self.last_state_write = 0.0

        def spent_seconds(self) -> float:
            return self.spent_before + time.monotonic() - self.started

        def setup(self, **info) -> None:
            self.started = time.monotonic()

        def on_step_end(self, iteration, trials, **info) -> None:
            if time.monotonic() - self.last_state_write >= 1.0:
                self.run_dir.write_state("searching", self.spent_seconds())
                self.last_state_write = time.monotonic()

        def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
            if trial.trial_id in self.ends:
                return
            spent, rows = self.spent_seconds(), epoch_results(result)
            for row in rows:
                row = {k: v for k, v in row.items() if k != "config"}
                append_epoch(self.results.setdefault(trial.trial_id, []), row)
                wall_s = spent - seconds_before_latest(row, rows[-1])
                self._append({"event": "result", "trial_id": trial.trial_id, "wall_s": round(wall_s, 3), "result": row})
            state = scheduler_state(self.scheduler)
            if state is not None:
                self.run_dir.write_scheduler_state(state)

        def on_trial_start(self, iteration, trials, trial, **info) -> None:
            # Once per trial (a retried trial starts again): its config, for a resume to run it again.
            if trial.trial_id not in self.journal.starts:
                self.journal.starts[trial.trial_id] = trial.config
                self._append({"event": "start", "trial_id": trial.trial_id, "config": trial.config})

        def on_trial_complete(self, iteration, trials, trial, **info) -> None:
            self._end(trial, "terminated")

        def on_trial_error(self, iteration, trials, trial, **info) -> None:
            from automl.training.failures import failure_of

            # Tune wrote the error just before (this driver's own file, as its ResultGrid reads it).
            error = trial.get_pickled_error() or RuntimeError(trial.get_error() or "unknown error")
            rows = self.results.get(trial.trial_id) or [{}]
            failure, reason = failure_of(error, rows[-1], trial.config)
            self._end(trial, "error", {"failure": failure, "error": reason})

        def on_experiment_end(self, trials, **info) -> None:
            self.run_dir.write_state("searching", self.spent_seconds())
            # The trials are over (the count, the budget or the searcher ran out): a resume from
            # here runs none, even those the budget cut off without an end of their own.
            self._append({"event": "search_end"})

        def _end(self, trial, status: str, failure: dict | None = None) -> None:
            if trial.trial_id in self.ends:
                return
            entry = {"event": "end", "trial_id": trial.trial_id, "status": status, "config": trial.config, **(failure or {})}
            self.ends[trial.trial_id] = entry
            self._append(entry)

        def _append(self, entry: dict) -> None:
            self.run_dir.append_journal([entry])

    return SearchLog()


def scheduler_state(scheduler) -> dict | None:
    """ASHA's bookkeeping as plain JSON values, or ``None`` for a scheduler that keeps none.

    ``brackets``: per bracket, ``[milestone, {trial_id: recorded result}]`` per rung;
    ``trial_brackets``: the bracket of each live trial; plus the counters.
    """
    from ray.tune.schedulers import AsyncHyperBandScheduler

    if not isinstance(scheduler, AsyncHyperBandScheduler):
        return None
    brackets = scheduler._brackets
    return {
        "scheduler": "asha",
        "brackets": [[[milestone, {t: float(v) for t, v in recorded.items()}] for milestone, recorded in b._rungs] for b in brackets],
        "trial_brackets": {t: brackets.index(b) for t, b in scheduler._trial_info.items()},
        "counter": scheduler._counter,
        "num_stopped": scheduler._num_stopped,
    }


def restore_scheduler(run_dir: RunDirectory, scheduler) -> None:
    """Give ``scheduler`` the bookkeeping a previous driver saved, where there is some.

    Only the bookkeeping comes back: the scheduler's settings (milestones, metric, mode) are
    those it was built with, the same as the previous driver's since the space is checked.
    """
    run_dir = RunDirectory(run_dir)
    state = run_dir.read_scheduler_state() if scheduler_state(scheduler) is not None else None
    if state is None:
        return
    path = run_dir.scheduler_state_path
    brackets = scheduler._brackets
    if len(state["brackets"]) != len(brackets):
        raise AutoMLError(f"{path} holds {len(state['brackets'])} ASHA brackets, the scheduler {len(brackets)}",
                          f"delete {path.name} to resume without ASHA's bookkeeping")
    for bracket, saved in zip(brackets, state["brackets"]):
        recorded = {float(milestone): results for milestone, results in saved}
        for milestone, results in bracket._rungs:
            results.update(recorded.get(float(milestone), {}))
    scheduler._trial_info = {t: brackets[index] for t, index in state["trial_brackets"].items()}
    scheduler._counter = int(state["counter"])
    scheduler._num_stopped = int(state["num_stopped"])


def journal_checkpointed_epochs(run_dir: RunDirectory, checkpoints: dict[str, Any]) -> None:
    """Journal the epochs that the checkpoints a resumed search goes on from hold but the
    killed driver never took (``checkpoints``: trial id -> :class:`automl.training.checkpoints.SavedCheckpoint`).

    A trial's process writes its checkpoint before the driver takes the report that carries
    it, and a resumed trial goes on from its newest checkpoint: without this, the epochs of
    that last report would be missing from its history. They are journaled without a
    ``wall_s`` (the search time at which they ended died with the driver).
    """
    run_dir = RunDirectory(run_dir)
    journal = run_dir.read_journal()
    results, ends = journal.results, journal.ends
    for trial_id, saved in checkpoints.items():
        last = max((row.get("epoch") or 0 for row in results.get(trial_id, [])), default=0)
        missed = [row for row in saved.epochs() if (row.get("epoch") or 0) > last]
        if trial_id in ends or not missed:
            continue
        run_dir.append_journal({"event": "result", "trial_id": trial_id, "result": row} for row in missed)
