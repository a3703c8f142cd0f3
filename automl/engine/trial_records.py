"""The record of each trial of a search (:class:`automl.run_directory.TrialRecord`, a line of
``trials.jsonl``): from Ray Tune's result, or from the run directory's journal alone (a resumed
search), with the status that says how far it got."""

from __future__ import annotations

from pathlib import Path

from automl.run_records import TrialRecord, history_rows
from automl.training.failures import failure_of
from automl.training.report_schedule import EARLIER_EPOCHS_KEY


def record_from_result(result, max_epochs: int, results: list[dict], journaled_config: dict | None = None) -> TrialRecord:
    """A trial's record from Ray Tune's result and the journal's epochs and config of it."""
    metrics = {k: v for k, v in (result.metrics or {}).items() if k != EARLIER_EPOCHS_KEY}
    if results and (results[-1].get("epoch") or 0) >= (metrics.get("epoch") or 0):
        # The journal knows the trial's last epoch even when Tune's result lags behind it.
        metrics.update(results[-1])
    # A resumed trial the time budget stopped before it started again has no result, nor config, from Tune.
    config = dict(result.config or metrics.get("config") or journaled_config or {})
    trial_id = Path(result.path).name  # the trial directory is named by trial id (see run_trials)
    # Failed: raised, diverged, out of memory or worker died (automl/training/failures.py).
    status, error = failure_of(result.error, metrics, config)
    checkpoint = result.checkpoint.path if result.checkpoint is not None else ""
    return with_status(TrialRecord(trial_id, config, metrics, status, error, history_rows(results), checkpoint), max_epochs)


def journal_records(journal, trial_ids: list[str], experiment: Path | None, max_epochs: int) -> list[TrialRecord]:
    """The records of ``trial_ids`` from the journal alone (trials a previous driver ran),
    ended trials first in the order they ended; each with its newest whole checkpoint. A trial
    that never finished an epoch has none (as Tune's trials without a result are left out)."""
    from automl.training.checkpoints import newest_whole_checkpoint

    ordered = [t for t in journal.ends if t in trial_ids] + [t for t in trial_ids if t not in journal.ends]
    records = []
    for trial_id in ordered:
        results, end, config = journal.results.get(trial_id, []), journal.ends.get(trial_id), journal.config_of(trial_id) or {}
        metrics = dict(results[-1]) if results else {}
        if end is not None and end.get("status") == "error":
            status, error = end.get("failure", "error"), end.get("error", "(its reason was not journaled)")
        else:
            status, error = failure_of(None, metrics, config)
        saved = newest_whole_checkpoint(experiment / trial_id) if experiment is not None else None
        record = TrialRecord(trial_id, config, metrics, status, error, history_rows(results), str(saved.folder) if saved else "")
        records.append(with_status(record, max_epochs))
    return [r for r in records if r.status != "no result" or r.error]


def resumed_records(records: list[TrialRecord], journal, experiment: Path | None, max_epochs: int) -> list[TrialRecord]:
    """Every record of a resumed search: the journal's for the trials that ended before this
    driver (and resumed ones the budget left no time to run again), then this driver's."""
    from automl.training.checkpoints import newest_whole_checkpoint

    for record in records:
        if not record.checkpoint and experiment is not None:
            # A resumed trial that wrote none since: the checkpoint it went on from holds its best outputs.
            saved = newest_whole_checkpoint(experiment / record.trial_id)
            record.checkpoint = str(saved.folder) if saved else ""
    ran = {r.trial_id for r in records}
    return journal_records(journal, [t for t in journal.trial_ids() if t not in ran], experiment, max_epochs) + records


def with_status(record: TrialRecord, max_epochs: int) -> TrialRecord:
    """The record with the status of a trial that did not fail: how far it got, and why it stopped."""
    if record.status:
        return record
    metrics = record.metrics
    if not metrics.get("epoch"):
        record.status = "no result"
    elif metrics.get("stop_reason"):
        record.status = f"early stopping: {metrics['stop_reason']}"
    elif metrics["epoch"] < int(record.config.get("epochs", max_epochs)):
        record.status = "stopped early"
    else:
        record.status = "completed"
    return record
