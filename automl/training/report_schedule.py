"""How often a trial reports to Ray Tune, and how the driver reads its reports back as epochs.

A report is a round trip: a function trainable waits in ``tune.report`` until the driver has
taken the result, which costs short epochs a large share of their time (the overhead benchmark
before and after this module: ``bench/RESULTS.md``, "Platform overhead per trial"). So a trial
reports at once only where the result is needed at once:

- at the epochs its scheduler decides on (:class:`ReportPlan`: ASHA's and HyperBand's rungs,
  every epoch for PBT, none for FIFO);
- with a checkpoint (it travels with the report, and holds the report's epochs,
  :meth:`EpochReporter.epochs_with`: a trial's process writes its checkpoint before the driver
  takes the report, so a driver killed in between leaves epochs only the checkpoint knows,
  which a resume journals from there; see ``automl.training.checkpoints``);
- at its first epoch, and then at least every ``interval_s`` seconds, so the progress display,
  tracking, the time budget and the resume journal stay current;
- at its last epoch, and when it fails: the epochs it finished are kept (:func:`epoch_reporter`).

The epochs in between travel in the next report, as a list under :data:`EARLIER_EPOCHS_KEY`.
Driver-side callbacks read every epoch of a result through :func:`epoch_results`.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

EARLIER_EPOCHS_KEY = "earlier_epochs"
REPORT_INTERVAL_S = 1.0


@dataclass(frozen=True)
class ReportPlan:
    """The epochs a trial must report as they end (``None``: all), and the longest silence."""

    decision_epochs: frozenset[int] | None = None
    interval_s: float = REPORT_INTERVAL_S

    def must_report(self, epoch: int) -> bool:
        return self.decision_epochs is None or epoch in self.decision_epochs


class TuneSession:
    """A trial's side of Ray Tune, from inside the trial's process: the CPUs and the node Ray gave
    it, the checkpoint it was handed, and the reports it sends.

    :func:`automl.training.trainable.train_trial` reaches Ray through this alone, so that another object with
    the same four methods can run a trial outside Ray (the test suite's in-process searches, for
    checks of API conventions that need no scheduler).
    """

    def cpus(self) -> int:
        """The CPUs Ray reserved for this trial (at least one)."""
        from ray import tune

        return max(1, int(tune.get_context().get_trial_resources().head_cpus or 1))

    def node_id(self) -> str:
        """The Ray node the trial runs on."""
        import ray

        return ray.get_runtime_context().get_node_id()

    def checkpoint(self):
        """The checkpoint Ray Tune hands the trial to go on from (a ``ray.tune.Checkpoint``), or ``None``."""
        from ray import tune

        return tune.get_checkpoint()

    def report(self, result: dict[str, Any], checkpoint_dir: str | Path | None = None) -> None:
        """Send one report, with the folder ``checkpoint_dir`` as its checkpoint."""
        from ray import tune

        checkpoint = tune.Checkpoint.from_directory(checkpoint_dir) if checkpoint_dir is not None else None
        tune.report(result, checkpoint=checkpoint)


class EpochReporter:
    """Sends a trial's per-epoch results to Ray Tune as its :class:`ReportPlan` says.

    ``add`` one result per epoch (each with its ``"epoch"``); ``close`` after the last, so that
    the epochs still held are reported. Epochs held when the trial's process dies are lost with
    it, as an unfinished epoch would be: a retry or a resume trains them again from the last
    checkpoint.
    """

    def __init__(self, plan: ReportPlan, session: TuneSession | None = None) -> None:
        self.plan = plan
        self.session = session or TuneSession()
        self.held: list[dict[str, Any]] = []
        self.last_report = -math.inf  # the first epoch is reported at once

    def epochs_with(self, result: dict[str, Any]) -> list[dict[str, Any]]:
        """The epochs a report of ``result`` would carry now: those held, then ``result``.
        A checkpoint added with ``result`` is reported at once, so these are its report's epochs."""
        return [*self.held, result]

    def add(self, result: dict[str, Any], checkpoint_dir: str | Path | None = None) -> None:
        """One epoch's result; with ``checkpoint_dir``, a folder to report as its checkpoint (at once)."""
        due = time.monotonic() - self.last_report >= self.plan.interval_s
        if checkpoint_dir is None and not due and not self.plan.must_report(int(result["epoch"])):
            self.held.append(result)
            return
        self._send(result, checkpoint_dir)

    def close(self) -> None:
        if self.held:
            self._send(self.held.pop(), None)

    def _send(self, result: dict[str, Any], checkpoint_dir) -> None:
        report = {**result, EARLIER_EPOCHS_KEY: self.held} if self.held else result
        self.session.report(report, checkpoint_dir)
        self.held = []
        self.last_report = time.monotonic()


@contextmanager
def epoch_reporter(plan: ReportPlan, session: TuneSession | None = None) -> Iterator[EpochReporter]:
    """An :class:`EpochReporter` that reports the epochs it holds at the end, also when the
    training raises (the error then ends the trial as before, with its finished epochs kept).

    Ray Tune stops a trial by raising ``SystemExit`` inside ``tune.report``: nothing more is
    reported then.
    """
    reporter = EpochReporter(plan, session)
    try:
        yield reporter
    except Exception:
        reporter.close()
        raise
    reporter.close()


def epoch_results(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Every epoch a Ray Tune result carries, oldest first; the last is the result itself.

    The earlier epochs hold what the trial reported for them; only the last carries the keys
    Ray Tune adds (``config``, ``training_iteration``, ...).
    """
    earlier = result.get(EARLIER_EPOCHS_KEY)
    if not earlier:
        return [result]
    return [*earlier, {key: value for key, value in result.items() if key != EARLIER_EPOCHS_KEY}]


def seconds_before_latest(row: dict[str, Any], latest: dict[str, Any]) -> float:
    """How long before the latest epoch of a report an earlier one ended (by the trial's clock)."""
    try:
        return max(float(latest["train_time_s"]) - float(row["train_time_s"]), 0.0)
    except (KeyError, TypeError, ValueError):
        return 0.0
