"""The search timeline: when, in wall time since the search began, each trial reported each epoch.

Ray Tune stamps results to the whole second only; the report's best-so-far-against-wall-time
plot needs finer times, so this callback notes them in the driver and writes
``RUN_DIR/timeline.jsonl`` (one line per reported epoch) when the search ends.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from ray.tune import Callback

from automl.training.report_schedule import epoch_results, seconds_before_latest

TIMELINE_FILE = "timeline.jsonl"


class SearchTimeline(Callback):
    """Record ``{"trial_id", "epoch", "wall_s", "value"}`` for every result of the ranking metric."""

    def __init__(self, run_dir: Path, metric_key: str) -> None:
        self.path = Path(run_dir) / TIMELINE_FILE
        self.metric_key = metric_key
        self.started = time.monotonic()
        self.rows: list[dict] = []

    def setup(self, **info) -> None:
        from automl.resume import logged_timeline

        # A resumed search goes on from the seconds and epochs the killed driver logged.
        spent, self.rows = logged_timeline(self.path.parent, self.metric_key)
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
        from automl.files import write_text_atomic

        write_text_atomic(self.path, "".join(json.dumps(row) + "\n" for row in self.rows))


def read_timeline(run_dir: Path) -> list[dict]:
    """The rows of ``RUN_DIR/timeline.jsonl``; empty when the search wrote none."""
    path = Path(run_dir) / TIMELINE_FILE
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
