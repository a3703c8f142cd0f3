"""The leaderboard: trial records → a ranked pandas DataFrame → CSV and Markdown files
(written by :meth:`automl.run_directory.RunDirectory.write_leaderboard`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from automl.run_directory import RunDirectory
from automl.run_records import TrialRecord

COLUMNS = [
    "rank", "trial_id", "architecture", "loss", "optimizer", "regularizers", "hyperparameters",
    "val_metric", "best_epoch", "epochs_run", "train_time_s", "params", "status",
]


def describe_block(block: dict) -> str:
    params = {k: v for k, v in block.items() if k not in ("name", "enabled")}
    return ", ".join(f"{k}={_fmt(v)}" for k, v in params.items())


def rank_trials(records: list[TrialRecord], metric: str, mode: str) -> pd.DataFrame:
    """One row per trial, best first by the best validation ``metric``; failed trials last."""
    rows = []
    for record in records:
        config, m = record.config, record.metrics
        regs = [
            f"{name}({describe_block(block)})"
            for name, block in (config.get("regularizers") or {}).items()
            if block.get("enabled")
        ]
        hparams = {
            f"{block['name']}.{k}": v
            for block in (config.get(part) or {} for part in ("architecture", "loss", "optimizer"))
            for k, v in block.items()
            if k != "name"
        }
        hparams.update({k: config[k] for k in ("epochs", "batch_size") if k in config})
        rows.append(
            {
                "trial_id": record.trial_id,
                "architecture": (config.get("architecture") or {}).get("name", ""),
                "loss": (config.get("loss") or {}).get("name", ""),
                "optimizer": (config.get("optimizer") or {}).get("name", ""),
                "regularizers": ", ".join(regs) or "-",
                "hyperparameters": ", ".join(f"{k}={_fmt(v)}" for k, v in hparams.items()),
                "val_metric": m.get(f"best_val_{metric}", np.nan) if not record.failed else np.nan,
                "best_epoch": m.get("best_epoch", 0),
                "epochs_run": m.get("epoch", 0),
                "train_time_s": round(float(m.get("train_time_s", 0.0)), 2),
                "params": m.get("params", 0),
                "status": record.status if not record.error else f"{record.status}: {record.error}",
            }
        )
    frame = pd.DataFrame(rows, columns=COLUMNS[1:])
    frame = frame.sort_values("val_metric", ascending=(mode == "min"), na_position="last", kind="stable")
    frame.insert(0, "rank", range(1, len(frame) + 1))
    frame = frame.rename(columns={"val_metric": f"val_{metric}"}).reset_index(drop=True)
    for column in ("best_epoch", "epochs_run", "params"):
        frame[column] = frame[column].fillna(0).astype(int)
    return frame


def to_markdown(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table (no optional dependency needed)."""
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    body = ["| " + " | ".join(_fmt(v).replace("|", "\\|") for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body]) + "\n"


def save_leaderboard(frame: pd.DataFrame, records: list[TrialRecord], run_dir: Path | RunDirectory) -> None:
    """Write the leaderboard (CSV and Markdown) and the trials (full configs and histories) into the run directory."""
    RunDirectory(run_dir).write_leaderboard(frame, to_markdown(frame), records)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
