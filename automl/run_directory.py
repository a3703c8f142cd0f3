"""The run directory of a search: every file in it, named, read and written here alone.

A search writes, each file in the run directory and never half-written:

- ``request.json``: the data reference (a path, a built-in name, or "in memory") and every
  option of the search, once, when the search starts, with a fingerprint of the split.
- ``search_state.json``: the stage (``searching`` → ``refitting`` → ``done``) and the search
  seconds spent so far (refreshed every second while trials run).
- ``search_log.jsonl``, the journal, appended as things happen: a line when a trial starts
  (with its config), one per epoch it trains, one when it ends (with its config, and the
  failure and its reason when it failed), and one when the search's trials are over. The
  per-epoch histories and final results that survive a kill.
- ``scheduler_state.json``: the trial scheduler's bookkeeping after the latest result (ASHA's
  rungs), so that a resumed search stops the same trials it would have stopped.
- ``data_report.json``: what the data stage found (rows, split, columns).
- ``trials.jsonl``: one :class:`TrialRecord` a line (config, metrics, status, history,
  checkpoint), and ``leaderboard.csv`` / ``leaderboard.md``: the ranked trials.
- ``result.json``: the winner, its test metrics, the ranking metric and its direction.
- ``timeline.jsonl``: when, in search seconds, each trial reported each epoch.
- ``report.html``; the folders ``model/`` (the artifact, with its ``metrics.json``),
  ``trials/`` (Ray Tune's experiment: the trials' folders and checkpoints) and ``wandb/``.

:class:`RunDirectory` names each of these paths and has a reader and a writer for each file;
no other module spells a file name of the run directory. With the trials' checkpoints
(``automl.training.checkpoints``), the request, state, journal and scheduler state are all a
resumed search reads: JSON, never Ray Tune's pickles.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from automl.errors import AutoMLError
from automl.files import json_value, write_text_atomic
from automl.run_records import Journal, SearchRequest, TrialRecord, append_epoch, history_rows

if TYPE_CHECKING:
    import pandas as pd

REQUEST_FILE = "request.json"
STATE_FILE = "search_state.json"
SEARCH_LOG_FILE = "search_log.jsonl"
SCHEDULER_STATE_FILE = "scheduler_state.json"
DATA_REPORT_FILE = "data_report.json"
TRIALS_FILE = "trials.jsonl"
LEADERBOARD_CSV = "leaderboard.csv"
LEADERBOARD_MD = "leaderboard.md"
RESULT_FILE = "result.json"
TIMELINE_FILE = "timeline.jsonl"
REPORT_FILE = "report.html"
MODEL_DIR = "model"
MODEL_METRICS_FILE = "metrics.json"  # in MODEL_DIR: the artifact's test metrics (written by automl.refit)
EXPERIMENT_DIR = "trials"  # Ray Tune's experiment, unless --storage puts it elsewhere
WANDB_DIR = "wandb"  # where wandb.init(dir=RUN_DIR) writes its runs

IN_MEMORY = "in memory"
LEADERBOARD_TEXT_COLUMNS = ("architecture", "loss", "optimizer", "regularizers", "hyperparameters")


def data_reference(data) -> Any:
    """What ``request.json`` stores of the data: an absolute path, a built-in name, or None (in memory)."""
    if isinstance(data, (str, Path)):
        path = Path(data)
        return str(path.resolve()) if path.exists() else str(data)
    return None


class RunDirectory:
    """The files of one search's run directory: a path for each, and their readers and writers.

    ``RunDirectory(path)`` names an existing (or future) directory; :meth:`create` makes a new
    one for a search. It is a path-like (``os.fspath`` gives the directory).
    """

    def __init__(self, path: str | Path | RunDirectory) -> None:
        self.path = Path(path.path if isinstance(path, RunDirectory) else path)

    @classmethod
    def create(cls, path: str | Path, overwrite: bool = False) -> RunDirectory:
        """Create the run directory; refuse to reuse a non-empty one unless ``overwrite``."""
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise AutoMLError(f"run directory {path} is a file", "pass another --output")
        if path.exists() and any(path.iterdir()):
            if not overwrite:
                raise AutoMLError(f"run directory {path} already exists and is not empty", "pass another --output, or --overwrite")
            shutil.rmtree(path)
        path.mkdir(parents=True, exist_ok=True)
        return cls(path)

    def __fspath__(self) -> str:
        return str(self.path)

    def __str__(self) -> str:
        return str(self.path)

    def __repr__(self) -> str:
        return f"RunDirectory({str(self.path)!r})"

    # The paths ----------------------------------------------------------------------------------

    @property
    def model_dir(self) -> Path:
        """The final model's artifact folder."""
        return self.path / MODEL_DIR

    @property
    def experiment_dir(self) -> Path:
        """Ray Tune's experiment folder (trial folders and checkpoints) when it is kept here."""
        return self.path / EXPERIMENT_DIR

    @property
    def wandb_dir(self) -> Path:
        """Where the search's W&B runs are written."""
        return self.path / WANDB_DIR

    @property
    def report_path(self) -> Path:
        """The self-contained HTML report."""
        return self.path / REPORT_FILE

    @property
    def journal_path(self) -> Path:
        """``search_log.jsonl``, the journal."""
        return self.path / SEARCH_LOG_FILE

    @property
    def scheduler_state_path(self) -> Path:
        """``scheduler_state.json``, the scheduler's bookkeeping."""
        return self.path / SCHEDULER_STATE_FILE

    # The request and the state ------------------------------------------------------------------

    def holds_request(self) -> bool:
        """Whether a search was started here (its ``request.json`` is written)."""
        return (self.path / REQUEST_FILE).is_file()

    def write_request(self, data, options: dict, fingerprint: str) -> None:
        """Record the search's request and mark it as searching, with no seconds spent yet."""
        options = {k: _jsonable_option(v) for k, v in options.items()}
        for key in ("space", "test_data"):  # files named relative to where the search started
            if isinstance(options.get(key), str) and Path(options[key]).exists():
                options[key] = str(Path(options[key]).resolve())
        request = {"data": data_reference(data), "options": options, "fingerprint": fingerprint}
        write_text_atomic(self.path / REQUEST_FILE, json.dumps(request, indent=2))
        self.write_state("searching", 0.0)

    def read_request(self) -> SearchRequest:
        """The request of an unfinished search; one clear error for anything else."""
        if not self.holds_request():
            raise AutoMLError(
                f"{self.path} holds no search to resume (no {REQUEST_FILE})",
                "pass the run directory (--output) of a search that was interrupted",
            )
        state = self.read_state()
        if state["stage"] == "done":
            raise AutoMLError(f"the search in {self.path} already finished",
                              f"see `automl leaderboard {self.path}`; start a new search with another --output")
        request = json.loads((self.path / REQUEST_FILE).read_text())
        options = dict(request["options"])
        if options.get("image_shape") is not None:
            options["image_shape"] = tuple(options["image_shape"])
        options["disable_plugins"] = tuple(options.get("disable_plugins") or ())
        return SearchRequest(self.path, request["data"], options, request["fingerprint"], state["stage"], float(state["search_seconds"]))

    def write_state(self, stage: str, search_seconds: float) -> None:
        """Mark the stage the search reached and the search seconds it spent."""
        # Rewritten every second while trials wait on the driver: atomic against a kill, no fsync.
        write_text_atomic(self.path / STATE_FILE, json.dumps({"stage": stage, "search_seconds": round(search_seconds, 3)}), durable=False)

    def read_state(self) -> dict:
        """``{"stage", "search_seconds"}`` (stage ``searching`` if never marked)."""
        path = self.path / STATE_FILE
        if not path.is_file():
            return {"stage": "searching", "search_seconds": 0.0}
        return json.loads(path.read_text())

    # The journal and the scheduler's state ------------------------------------------------------

    def journal_entries(self) -> Iterator[dict]:
        """The entries of ``search_log.jsonl`` in order; a line cut short by a kill is skipped."""
        if self.journal_path.is_file():
            for line in self.journal_path.read_text().splitlines():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    continue

    def read_journal(self) -> Journal:
        """The journal (empty for a new search).

        A trial that restarted from a checkpoint reports some epochs again: the later rows
        replace the earlier ones from that epoch on. A last line cut short by a kill is skipped.
        """
        journal = Journal()
        for entry in self.journal_entries():
            event = entry.get("event")
            if event == "start":
                journal.starts.setdefault(entry["trial_id"], entry["config"])
            elif event == "result":
                append_epoch(journal.results.setdefault(entry["trial_id"], []), entry["result"])
            elif event == "end":
                journal.ends[entry["trial_id"]] = entry
            elif event == "search_end":
                journal.search_ended = True
        return journal

    def append_journal(self, entries: Iterable[dict]) -> None:
        """Append entries to the journal, one line each (NumPy and torch scalars as numbers)."""
        with open(self.journal_path, "a") as handle:
            for entry in entries:
                handle.write(json.dumps(entry, default=json_value) + "\n")

    def logged_timeline(self, metric_key: str) -> tuple[float, list[dict]]:
        """``(search seconds spent, timeline rows)`` an interrupted search journaled; ``(0, [])`` for a new one."""
        if not self.journal_path.is_file():
            return 0.0, []
        rows = []
        for entry in self.journal_entries():
            if entry.get("event") == "result" and "wall_s" in entry:
                result = entry["result"]
                rows.append({"trial_id": entry["trial_id"], "epoch": result.get("epoch"), "wall_s": entry["wall_s"],
                             "value": result.get(metric_key)})
        return float(self.read_state()["search_seconds"]), rows

    def write_scheduler_state(self, state: dict) -> None:
        """Save the scheduler's bookkeeping (rewritten after every result: no fsync)."""
        write_text_atomic(self.scheduler_state_path, json.dumps(state), durable=False)

    def read_scheduler_state(self) -> dict | None:
        """The scheduler's saved bookkeeping, or ``None`` when there is none."""
        path = self.scheduler_state_path
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError:
            raise AutoMLError(f"{path} is not valid JSON", f"delete {path.name} to resume without ASHA's bookkeeping") from None

    # The trials, the leaderboard, the result ----------------------------------------------------

    def write_data_report(self, report: dict) -> None:
        """Save what the data stage found."""
        write_text_atomic(self.path / DATA_REPORT_FILE, json.dumps(report, indent=2, default=str))

    def read_data_report(self) -> dict:
        """What the data stage found (empty if the search wrote nothing)."""
        return _read_json(self.path / DATA_REPORT_FILE)

    def write_leaderboard(self, frame: pd.DataFrame, markdown: str, records: list[TrialRecord]) -> None:
        """Write ``leaderboard.csv``, ``leaderboard.md`` (the ``markdown`` table of ``frame``) and
        ``trials.jsonl`` (full configs and histories)."""
        write_text_atomic(self.path / LEADERBOARD_CSV, frame.to_csv(index=False))
        write_text_atomic(self.path / LEADERBOARD_MD, markdown)
        lines = [
            json.dumps({"trial_id": r.trial_id, "status": r.status, "error": r.error, "config": r.config,
                        "metrics": _jsonable(r.metrics), "history": _jsonable(r.history), "checkpoint": r.checkpoint})
            for r in records
        ]
        write_text_atomic(self.path / TRIALS_FILE, "\n".join(lines) + "\n")

    def has_leaderboard(self) -> bool:
        """Whether the search ranked its trials (``leaderboard.csv`` is written)."""
        return (self.path / LEADERBOARD_CSV).is_file()

    def read_leaderboard(self) -> pd.DataFrame:
        """The ranked leaderboard; a clear error when the search wrote none."""
        import pandas as pd

        if not self.has_leaderboard():
            raise AutoMLError(f"{self.path} has no leaderboard", "pass the run directory of a finished search")
        frame = pd.read_csv(self.path / LEADERBOARD_CSV, keep_default_na=False, na_values=[""])
        # An ensemble row has no loss or optimizer: written as "", read back as text, not NaN.
        text = [c for c in LEADERBOARD_TEXT_COLUMNS if c in frame]
        frame[text] = frame[text].astype(object).where(frame[text].notna(), "")
        return frame

    def read_trials(self) -> list[TrialRecord]:
        """The trial records of ``trials.jsonl`` (empty if the search wrote none)."""
        path = self.path / TRIALS_FILE
        if not path.is_file():
            return []
        return [
            TrialRecord(t["trial_id"], t["config"], t["metrics"], t["status"], t.get("error") or "", t.get("history") or [],
                        t.get("checkpoint") or "")
            for t in map(json.loads, path.read_text().splitlines()) if t
        ]

    def write_result(self, summary: dict) -> None:
        """Save the search's result: the winner, its test metrics, the metric and its direction."""
        write_text_atomic(self.path / RESULT_FILE, json.dumps(summary, indent=2, default=str))

    def has_result(self) -> bool:
        """Whether the search finished: its result and leaderboard are written."""
        return (self.path / RESULT_FILE).is_file() and self.has_leaderboard()

    def read_result(self) -> dict:
        """The search's result (see :meth:`write_result`)."""
        return json.loads((self.path / RESULT_FILE).read_text())

    def read_model_metrics(self) -> dict:
        """The final model's test metrics and predictions (empty when there is no model)."""
        return _read_json(self.model_dir / MODEL_METRICS_FILE)

    # The timeline -------------------------------------------------------------------------------

    def write_timeline(self, rows: list[dict]) -> None:
        """Save the timeline, one row a line."""
        write_text_atomic(self.path / TIMELINE_FILE, "".join(json.dumps(row) + "\n" for row in rows))

    def read_timeline(self) -> list[dict]:
        """The rows of ``timeline.jsonl``; empty when the search wrote none."""
        path = self.path / TIMELINE_FILE
        if not path.is_file():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _jsonable_option(value):
    if isinstance(value, Path):
        return str(value.resolve()) if value.exists() else str(value)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, (str, int, float, bool, list, dict)) or value is None:
        return value
    return IN_MEMORY


def _jsonable(value):
    import pandas as pd

    return json.loads(pd.Series([value]).to_json(orient="values", double_precision=15, default_handler=str))[0]


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}
