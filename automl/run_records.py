"""What the files of a run directory hold, as Python records: a trial's record (a line of
``trials.jsonl``), the search's request (``request.json`` with its state), and the journal
(``search_log.jsonl``). :mod:`automl.run_directory` reads and writes them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HISTORY_PREFIXES = ("val_", "train_", "epoch", "best_")


@dataclass
class TrialRecord:
    """A finished (or failed, or stopped) trial: its config, last reported metrics and status;
    a line of ``trials.jsonl``.

    A failed trial's ``status`` is one of ``automl.training.failures.FAILED_STATUSES`` and ``error`` its reason.
    """

    trial_id: str
    config: dict
    metrics: dict
    status: str
    error: str = ""
    history: list[dict] = field(default_factory=list)
    checkpoint: str = ""  # the latest checkpoint's folder (with --ensemble it holds the best val outputs)

    @property
    def failed(self) -> bool:
        """Whether the trial failed (raised, diverged, ran out of memory, lost its worker): it has no score."""
        return bool(self.error)


@dataclass(frozen=True)
class SearchRequest:
    """A search as it was asked for: its data reference, its options and where it got to."""

    run_dir: Path
    data: Any  # a path or built-in name; None when the search was given in-memory data
    options: dict
    fingerprint: str
    stage: str
    search_seconds: float


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


def append_epoch(rows: list[dict], result: dict) -> None:
    """Add an epoch's result to a trial's rows; a trial that restarted from a checkpoint reports
    some epochs again: the later rows replace the earlier ones from that epoch on."""
    epoch = result.get("epoch")
    if epoch is not None:
        while rows and (rows[-1].get("epoch") or 0) >= epoch:
            rows.pop()
    rows.append(result)


def history_rows(results: list[dict]) -> list[dict]:
    """The per-epoch history kept in ``trials.jsonl``: losses, validation metrics, epoch, best so far."""
    return [{k: v for k, v in row.items() if k.startswith(HISTORY_PREFIXES)} for row in results]
