"""What the report reads from a run directory (through :class:`automl.run_directory.RunDirectory`):
the result, the leaderboard, the trials, the data report, the timeline and the model's metrics."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from automl.errors import AutoMLError
from automl.run_directory import LEADERBOARD_CSV, RESULT_FILE, RunDirectory
from automl.run_records import TrialRecord


@dataclass
class RunFiles:
    """What the report reads from a run directory."""

    run_dir: Path
    result: dict
    leaderboard: pd.DataFrame
    trials: list[TrialRecord]
    data_report: dict
    timeline: list[dict]
    model_metrics: dict

    @property
    def metric(self) -> str:
        return self.result["metric"]

    @property
    def mode(self) -> str:
        from automl.metrics import DIRECTIONS

        return self.result.get("mode") or DIRECTIONS.get(self.metric, "max")


def read_run(run_dir: str | Path) -> RunFiles:
    """Load the files a finished search wrote; a clear error if the search did not finish."""
    run = RunDirectory(run_dir)
    if not run.has_result():
        raise AutoMLError(f"{run.path} holds no finished search (no {RESULT_FILE} or {LEADERBOARD_CSV})",
                          "pass the run directory of a search that completed")
    return RunFiles(
        run_dir=run.path,
        result=run.read_result(),
        leaderboard=run.read_leaderboard(),
        trials=run.read_trials(),
        data_report=run.read_data_report(),
        timeline=run.read_timeline(),
        model_metrics=run.read_model_metrics(),
    )
