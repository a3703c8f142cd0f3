"""What the report reads from a run directory: ``result.json``, ``leaderboard.csv``,
``trials.jsonl``, ``data_report.json``, ``timeline.jsonl`` and ``model/metrics.json``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from automl.errors import AutoMLError


@dataclass
class RunFiles:
    """What the report reads from a run directory."""

    run_dir: Path
    result: dict
    leaderboard: pd.DataFrame
    trials: list[dict]
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
    from automl.tracking.timeline import read_timeline

    run_dir = Path(run_dir)
    if not (run_dir / "result.json").is_file() or not (run_dir / "leaderboard.csv").is_file():
        raise AutoMLError(f"{run_dir} holds no finished search (no result.json or leaderboard.csv)",
                          "pass the run directory of a search that completed")
    trials_path = run_dir / "trials.jsonl"
    metrics_path = run_dir / "model" / "metrics.json"
    return RunFiles(
        run_dir=run_dir,
        result=json.loads((run_dir / "result.json").read_text()),
        leaderboard=pd.read_csv(run_dir / "leaderboard.csv"),
        trials=[json.loads(line) for line in trials_path.read_text().splitlines() if line.strip()] if trials_path.is_file() else [],
        data_report=_read_json(run_dir / "data_report.json"),
        timeline=read_timeline(run_dir),
        model_metrics=_read_json(metrics_path),
    )


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}
