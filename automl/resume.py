"""What a run directory remembers of its search, so that a search whose driver died can go on.

Written while a search runs, each in the run directory and never half-written:

- ``request.json``: the data reference (a path, a built-in name, or "in memory") and every
  option of the search, once, when the search starts, with a fingerprint of the split.
- ``search_state.json``: the stage (``searching`` → ``refitting`` → ``done``) and the search
  seconds spent so far (refreshed every second while trials run).
- ``search_log.jsonl``, the journal, appended as things happen: a line when a trial starts
  (with its config), one per epoch it trains, one when it ends (with its config, and the
  failure and its reason when it failed), and one when the search's trials are over. The
  per-epoch histories and final results that survive a kill.
- ``scheduler_state.json``: the trial scheduler's bookkeeping after the latest result (ASHA's
  rungs: each trial's bracket and the results recorded at each milestone), so that a resumed
  search stops the same trials it would have stopped.

With the trials' checkpoints (``automl.training.checkpoints``), these are everything a resumed search
reads (``automl.resumed_search``): JSON, and weights loaded with ``torch.load(weights_only=True)``.
Ray Tune's own experiment state under ``trials/`` (its pickles) is never read back.

:func:`read_request` checks that a directory holds a search that can be resumed;
:func:`read_journal` reads the journal; :class:`SearchLog` is the Ray Tune callback that
writes the last three files.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from automl.errors import AutoMLError
from automl.files import write_text_atomic
from automl.training.report_schedule import epoch_results, json_value, seconds_before_latest

REQUEST_FILE = "request.json"
STATE_FILE = "search_state.json"
SEARCH_LOG_FILE = "search_log.jsonl"
SCHEDULER_STATE_FILE = "scheduler_state.json"
IN_MEMORY = "in memory"
HISTORY_PREFIXES = ("val_", "train_", "epoch", "best_")


@dataclass(frozen=True)
class SearchRequest:
    """A search as it was asked for: its data reference, its options and where it got to."""

    run_dir: Path
    data: Any  # a path or built-in name; None when the search was given in-memory data
    options: dict
    fingerprint: str
    stage: str
    search_seconds: float


def data_reference(data) -> Any:
    """What ``request.json`` stores of the data: an absolute path, a built-in name, or None (in memory)."""
    if isinstance(data, (str, Path)):
        path = Path(data)
        return str(path.resolve()) if path.exists() else str(data)
    return None


def split_fingerprint(prepared, space_spec: dict | None = None) -> str:
    """A SHA-256 of the train and validation arrays and the space: a resumed search must see the same."""
    digest = hashlib.sha256(json.dumps(space_spec or {}, sort_keys=True, default=str).encode())
    for array in (prepared.X_train, prepared.y_train, prepared.X_val, prepared.y_val):
        try:
            digest.update(memoryview(array).tobytes())
        except (TypeError, ValueError):  # object arrays (text): their text is what matters
            digest.update(repr(list(array)).encode())
    return digest.hexdigest()


def write_request(run_dir: Path, data, options: dict, fingerprint: str) -> None:
    """Record the search's request and mark it as searching, with no seconds spent yet."""
    options = {k: _jsonable_option(v) for k, v in options.items()}
    for key in ("space", "test_data"):  # files named relative to where the search started
        if isinstance(options.get(key), str) and Path(options[key]).exists():
            options[key] = str(Path(options[key]).resolve())
    request = {"data": data_reference(data), "options": options, "fingerprint": fingerprint}
    write_text_atomic(run_dir / REQUEST_FILE, json.dumps(request, indent=2))
    write_state(run_dir, "searching", 0.0)


def write_state(run_dir: Path, stage: str, search_seconds: float) -> None:
    """Mark the stage the search reached and the search seconds it spent."""
    # Rewritten every second while trials wait on the driver: atomic against a kill, no fsync.
    write_text_atomic(Path(run_dir) / STATE_FILE, json.dumps({"stage": stage, "search_seconds": round(search_seconds, 3)}), durable=False)


def read_state(run_dir: Path) -> dict:
    """``{"stage", "search_seconds"}`` of a run directory (stage ``searching`` if never marked)."""
    path = Path(run_dir) / STATE_FILE
    if not path.is_file():
        return {"stage": "searching", "search_seconds": 0.0}
    return json.loads(path.read_text())


def read_request(run_dir: Path) -> SearchRequest:
    """The request of an unfinished search in ``run_dir``; one clear error for anything else."""
    run_dir = Path(run_dir)
    if not (run_dir / REQUEST_FILE).is_file():
        raise AutoMLError(
            f"{run_dir} holds no search to resume (no {REQUEST_FILE})",
            "pass the run directory (--output) of a search that was interrupted",
        )
    state = read_state(run_dir)
    if state["stage"] == "done":
        raise AutoMLError(f"the search in {run_dir} already finished", f"see `automl leaderboard {run_dir}`; start a new search with another --output")
    request = json.loads((run_dir / REQUEST_FILE).read_text())
    options = dict(request["options"])
    if options.get("image_shape") is not None:
        options["image_shape"] = tuple(options["image_shape"])
    options["disable_plugins"] = tuple(options.get("disable_plugins") or ())
    return SearchRequest(run_dir, request["data"], options, request["fingerprint"], state["stage"], float(state["search_seconds"]))


def _jsonable_option(value):
    if isinstance(value, Path):
        return str(value.resolve()) if value.exists() else str(value)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, (str, int, float, bool, list, dict)) or value is None:
        return value
    return IN_MEMORY


def _log_entries(run_dir: Path) -> Iterator[dict]:
    """The entries of ``search_log.jsonl`` in order; a line cut short by a kill is skipped."""
    path = Path(run_dir) / SEARCH_LOG_FILE
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue


@dataclass
class Journal:
    """What ``search_log.jsonl`` holds: each trial's config when it started, its epochs, its
    end, and whether the search's trials were over (then a resume only ranks and refits)."""

    starts: dict[str, dict] = field(default_factory=dict)  # trial id -> config, in start order
    results: dict[str, list[dict]] = field(default_factory=dict)  # trial id -> epochs, oldest first
    ends: dict[str, dict] = field(default_factory=dict)  # trial id -> its end entry, in end order
    search_ended: bool = False

    def config_of(self, trial_id: str) -> dict | None:
        """The trial's config (journaled when it started, and again when it ended)."""
        end = self.ends.get(trial_id)
        return end["config"] if end is not None else self.starts.get(trial_id)

    def trial_ids(self) -> list[str]:
        """Every trial whose config the journal holds, in the order they started."""
        return list(dict.fromkeys([*self.starts, *self.ends]))

    def unfinished(self) -> list[str]:
        """The trials that had started and not ended, in start order."""
        return [t for t in self.starts if t not in self.ends]


def read_journal(run_dir: Path) -> Journal:
    """The journal of ``run_dir`` (empty for a new search).

    A trial that restarted from a checkpoint reports some epochs again: the later rows
    replace the earlier ones from that epoch on. A last line cut short by a kill is skipped.
    """
    journal = Journal()
    for entry in _log_entries(run_dir):
        event = entry.get("event")
        if event == "start":
            journal.starts.setdefault(entry["trial_id"], entry["config"])
        elif event == "result":
            _append_epoch(journal.results.setdefault(entry["trial_id"], []), entry["result"])
        elif event == "end":
            journal.ends[entry["trial_id"]] = entry
        elif event == "search_end":
            journal.search_ended = True
    return journal


def read_search_log(run_dir: Path) -> tuple[dict[str, list[dict]], dict[str, dict]]:
    """``(results per trial, end of each finished trial)`` from ``search_log.jsonl``."""
    journal = read_journal(run_dir)
    return journal.results, journal.ends


def logged_timeline(run_dir: Path, metric_key: str) -> tuple[float, list[dict]]:
    """``(search seconds spent, timeline rows)`` an interrupted search logged; ``(0, [])`` for a new one."""
    if not (Path(run_dir) / SEARCH_LOG_FILE).is_file():
        return 0.0, []
    rows = []
    for entry in _log_entries(run_dir):
        if entry.get("event") == "result" and "wall_s" in entry:
            result = entry["result"]
            rows.append({"trial_id": entry["trial_id"], "epoch": result.get("epoch"), "wall_s": entry["wall_s"], "value": result.get(metric_key)})
    return float(read_state(run_dir)["search_seconds"]), rows


def _append_epoch(rows: list[dict], result: dict) -> None:
    epoch = result.get("epoch")
    if epoch is not None:
        while rows and (rows[-1].get("epoch") or 0) >= epoch:
            rows.pop()
    rows.append(result)


def history_rows(results: list[dict]) -> list[dict]:
    """The per-epoch history kept in ``trials.jsonl``: losses, validation metrics, epoch, best so far."""
    return [{k: v for k, v in row.items() if k.startswith(HISTORY_PREFIXES)} for row in results]


def make_search_log(run_dir: Path, scheduler, spent_s: float = 0.0):
    """The Ray Tune callback that journals a search into its run directory (see the module docstring).

    ``spent_s`` is the search time spent before this driver started (0 for a new search).
    Results for trials that a previous driver saw end are ignored: a resumed search does not
    run them again.
    """
    from ray import tune

    class SearchLog(tune.Callback):
        def __init__(self) -> None:
            self.run_dir = Path(run_dir)
            self.scheduler = scheduler
            self.spent_before = spent_s
            self.journal = read_journal(self.run_dir)
            self.results, self.ends = self.journal.results, self.journal.ends
            self.started = time.monotonic()
            self.last_state_write = 0.0

        def spent_seconds(self) -> float:
            return self.spent_before + time.monotonic() - self.started

        def setup(self, **info) -> None:
            self.started = time.monotonic()

        def on_step_end(self, iteration, trials, **info) -> None:
            if time.monotonic() - self.last_state_write >= 1.0:
                write_state(self.run_dir, "searching", self.spent_seconds())
                self.last_state_write = time.monotonic()

        def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
            if trial.trial_id in self.ends:
                return
            spent, rows = self.spent_seconds(), epoch_results(result)
            for row in rows:
                row = {k: v for k, v in row.items() if k != "config"}
                _append_epoch(self.results.setdefault(trial.trial_id, []), row)
                wall_s = spent - seconds_before_latest(row, rows[-1])
                self._append({"event": "result", "trial_id": trial.trial_id, "wall_s": round(wall_s, 3), "result": row})
            state = scheduler_state(self.scheduler)
            if state is not None:
                write_text_atomic(self.run_dir / SCHEDULER_STATE_FILE, json.dumps(state), durable=False)

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
            write_state(self.run_dir, "searching", self.spent_seconds())
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
            with open(self.run_dir / SEARCH_LOG_FILE, "a") as handle:
                handle.write(json.dumps(entry, default=json_value) + "\n")

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


def restore_scheduler(run_dir: Path, scheduler) -> None:
    """Give ``scheduler`` the bookkeeping a previous driver saved, where there is some.

    Only the bookkeeping comes back: the scheduler's settings (milestones, metric, mode) are
    those it was built with, the same as the previous driver's since the space is checked.
    """
    path = Path(run_dir) / SCHEDULER_STATE_FILE
    if not path.is_file() or scheduler_state(scheduler) is None:
        return
    try:
        state = json.loads(path.read_text())
    except json.JSONDecodeError:
        raise AutoMLError(f"{path} is not valid JSON", f"delete {path.name} to resume without ASHA's bookkeeping") from None
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


def journal_checkpointed_epochs(run_dir: Path, checkpoints: dict[str, Any]) -> None:
    """Journal the epochs that the checkpoints a resumed search goes on from hold but the
    killed driver never took (``checkpoints``: trial id -> :class:`automl.training.checkpoints.SavedCheckpoint`).

    A trial's process writes its checkpoint before the driver takes the report that carries
    it, and a resumed trial goes on from its newest checkpoint: without this, the epochs of
    that last report would be missing from its history. They are journaled without a
    ``wall_s`` (the search time at which they ended died with the driver).
    """
    results, ends = read_search_log(run_dir)
    for trial_id, saved in checkpoints.items():
        last = max((row.get("epoch") or 0 for row in results.get(trial_id, [])), default=0)
        missed = [row for row in saved.epochs() if (row.get("epoch") or 0) > last]
        if trial_id in ends or not missed:
            continue
        with open(Path(run_dir) / SEARCH_LOG_FILE, "a") as handle:
            for row in missed:
                handle.write(json.dumps({"event": "result", "trial_id": trial_id, "result": row}, default=json_value) + "\n")
