"""The search timeline: when, in wall time since the search began, each trial reported each epoch.

Ray Tune stamps results to the whole second only; the report's best-so-far-against-wall-time
plot needs finer times, so this callback notes them in the driver and writes the run
directory's timeline (one row per reported epoch, :meth:`automl.run_directory.RunDirectory.write_timeline`)
when the search ends.
"""

from __future__ import annotations

import time
from pathlib import Path

from ray.tune import Callback

from automl.run_directory import RunDirectory
from automl.training.report_schedule import epoch_results, seconds_before_latest


class SearchTimeline(Callback):
    """Record ``{"trial_id", "epoch", "wall_s", "value"}`` for every result of the ranking metric."""

    def __init__(self, run_dir: Path | RunDirectory, metric_key: str) -> None:
        self.run_dir = RunDirectory(run_dir)
        self.metric_key = metric_key
        self.started = time.monotonic()
        self.rows: list[dict] = []

    def setup(self, **info) -> None:
        # A resumed search goes on from the seconds and epochs the killed driver logged.
        spent, self.rows = self.run_dir.logged_timeline(self.metric_key)
        self.started = time.monotonic() - spent

    def on_trial_result(self, iteration: int, trials: list, trial, result: dict, **info) -> None:
        now, rows = time.monotonic() - self.started, epoch_results(result)
        for row in rows:
            self.rows.append({
                "trial_id": trial.trial_id,
                "epoch": row.get("epoch"),
                "wall_s": round(now - seconds_before_latest(row, rows[-1]), 3),
                "value": row.get(self.metric_key),
            })

    def on_experiment_end(self, trials: list, **info) -> None:
        self.run_dir.write_timeline(self.rows)
