"""Tracking of one search, start to end: Tune callbacks while trials run, then the HTML report
and the W&B summary run once the model is refitted and tested."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from automl.config import TrackingConfig


@dataclass
class TrackingOutcome:
    """Where a search's review material went: the report, and the command that syncs W&B runs."""

    report: Path | None  # None when the report was turned off
    wandb_mode: str | None = None
    sync_command: str | None = None


class SearchTracking:
    """Build the callbacks for :func:`automl.engine.run.run_trials`, then ``finish`` the search."""

    def __init__(self, config: TrackingConfig, run_dir: Path, metric_key: str) -> None:
        self.config = config
        self.run_dir = Path(run_dir)
        self.metric_key = metric_key
        self.group = self.run_dir.resolve().name
        self.mode: str | None = None
        if config.wandb:
            from automl.tracking.wandb_runs import resolve_mode

            self.mode = resolve_mode()

    def callbacks(self) -> list:
        """The Ray Tune callbacks: the timeline always, W&B trial runs when enabled."""
        from automl.tracking.timeline import SearchTimeline

        callbacks = [SearchTimeline(self.run_dir, self.metric_key)]
        if self.config.wandb:
            from automl.tracking.wandb_runs import WandbTrialRuns

            callbacks.append(WandbTrialRuns(self.config, self.run_dir, self.group, self.mode))
        return callbacks

    def finish(self, leaderboard: pd.DataFrame, result: dict, artifact_dir: Path) -> TrackingOutcome:
        """Write ``report.html`` (unless turned off) and, with W&B on, the summary run (leaderboard, plots, model)."""
        from automl.report import read_run, render_plots, write_report

        if not (self.config.report or self.config.wandb):
            return TrackingOutcome(None)
        plots = render_plots(read_run(self.run_dir))
        report = write_report(self.run_dir, plots) if self.config.report else None
        if not self.config.wandb:
            return TrackingOutcome(report)
        from automl.tracking.wandb_runs import log_summary_run, sync_command

        log_summary_run(
            self.config, self.run_dir, self.group, self.mode, leaderboard,
            {plot.name: plot.png for plot in plots}, artifact_dir, result,
        )
        return TrackingOutcome(report, self.mode or "from WANDB_MODE", sync_command(self.run_dir))
