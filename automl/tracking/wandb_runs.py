"""Weights & Biases with the real client: one W&B run per trial, one summary run per search.

Trials of one search share a W&B group (the run directory's name). A trial run's config is the
trial's component choices and hyperparameters; its history is the per-epoch training loss and
validation metrics, stepped by epoch. The summary run holds the leaderboard as a ``wandb.Table``,
the report's plots as images and the refitted model as an Artifact.

Without an API key or login the client runs offline and writes real runs under
``RUN_DIR/wandb``; :func:`sync_command` is the command that uploads them later.

Why not ``ray.air.integrations.wandb.WandbLoggerCallback``: it starts two Ray actors per
trial, and on a loaded 2-core machine that blocked the Tune loop about 16 s per trial (96 s
against 21 s for 4 trivial trials). These runs live in the driver, sharing one wandb service.
"""

from __future__ import annotations

import io
import math
import os
import re
import shlex
from numbers import Number
from pathlib import Path
from typing import Any

from ray.tune import Callback

from automl.config import TrackingConfig
from automl.run_directory import RunDirectory
from automl.training.report_schedule import epoch_results

_USER_MODES = ("online", "offline", "disabled", "dryrun", "shared")
_SKIPPED_RESULT_KEYS = ("time_this_iter_s", "time_total_s", "time_since_restore", "timestamp")


def resolve_mode() -> str | None:
    """The W&B mode: ``None`` when the user chose one in ``WANDB_MODE`` (wandb then reads it),
    ``"online"`` with an API key or login, else ``"offline"``. Never prompts, never connects."""
    import wandb

    if os.environ.get("WANDB_MODE", "").lower() in _USER_MODES:
        return None
    return "online" if wandb.login(prompt=False, verify=False) else "offline"


def wandb_dir(run_dir: Path) -> Path:
    """Where the search's W&B runs are written (``wandb.init(dir=RUN_DIR)`` writes them there)."""
    return RunDirectory(run_dir).wandb_dir


def sync_command(run_dir: Path) -> str | None:
    """The ``wandb sync`` command that uploads the search's offline runs, or None if there are none."""
    runs = wandb_dir(run_dir)
    if not any(runs.glob("offline-run-*")):
        return None
    return f"wandb sync {shlex.quote(str(runs))}"


def _init(tracking: TrackingConfig, run_dir: Path, mode: str | None, **kwargs):
    import wandb

    directory = Path(run_dir).resolve()
    wandb_dir(directory).mkdir(parents=True, exist_ok=True)
    settings = wandb.Settings(
        silent=True, console="off", x_disable_stats=True, x_disable_meta=True, disable_git=True, save_code=False,
    )
    return wandb.init(
        project=tracking.project, entity=tracking.entity, dir=str(directory), mode=mode,
        reinit="create_new", settings=settings, **kwargs,
    )


class WandbTrialRuns(Callback):
    """A Ray Tune callback that mirrors every trial into its own W&B run (in the driver)."""

    def __init__(self, tracking: TrackingConfig, run_dir: Path, group: str, mode: str | None) -> None:
        self.tracking = tracking
        self.run_dir = Path(run_dir)
        self.group = group
        self.mode = mode
        self._runs: dict[str, Any] = {}

    def _run_for(self, trial):
        if trial.trial_id not in self._runs:
            # The run's id follows from the trial's: a trial a resumed search runs again (with its
            # id) goes on in the same W&B run ("allow": a new one the first time).
            self._runs[trial.trial_id] = _init(
                self.tracking, self.run_dir, self.mode, group=self.group, job_type="trial",
                name=trial.trial_id, config={"trial_id": trial.trial_id, **trial.config},
                id=trial_run_id(self.group, trial.trial_id), resume="allow",
            )
        return self._runs[trial.trial_id]

    def setup(self, **info) -> None:
        import wandb

        # wandb.setup() caches its settings (WANDB_MODE among them) for the whole process; a
        # teardown first makes each search read them afresh, e.g. in a notebook session.
        wandb.teardown()
        wandb.setup()  # start the wandb service now, not inside the first trial's event

    def on_trial_start(self, iteration: int, trials: list, trial, **info) -> None:
        self._run_for(trial)

    def on_trial_result(self, iteration: int, trials: list, trial, result: dict, **info) -> None:
        run = self._run_for(trial)
        for row in epoch_results(result):
            metrics = {
                key: value for key, value in row.items()
                if (key.startswith(("train_", "val_", "best_")) or key in ("epoch", "params"))
                and _is_number(value) and key not in _SKIPPED_RESULT_KEYS
            }
            run.log(metrics, step=int(row.get("epoch") or row.get("training_iteration") or 0))

    def on_trial_complete(self, iteration: int, trials: list, trial, **info) -> None:
        self._finish(trial.trial_id, 0)

    def on_trial_error(self, iteration: int, trials: list, trial, **info) -> None:
        self._finish(trial.trial_id, 1)

    def on_experiment_end(self, trials: list, **info) -> None:
        # Trials cut off by the time budget get no completion event of their own.
        for trial_id in list(self._runs):
            self._finish(trial_id, 0)

    def _finish(self, trial_id: str, exit_code: int) -> None:
        run = self._runs.pop(trial_id, None)
        if run is not None:
            run.finish(exit_code=exit_code)


def log_summary_run(
    tracking: TrackingConfig,
    run_dir: Path,
    group: str,
    mode: str | None,
    leaderboard,
    plots: dict[str, bytes],
    artifact_dir: Path,
    result: dict,
) -> None:
    """One W&B run for the whole search: leaderboard table, report plots, the model artifact."""
    import pandas as pd
    import wandb
    from PIL import Image

    run = _init(
        tracking, run_dir, mode, group=group, job_type="summary", name=f"{group}-summary",
        config={"best_trial": result["best"]["trial_id"], "best_config": result["best"]["config"], "metric": result["metric"]},
    )
    try:
        table = leaderboard.astype(object).where(pd.notna(leaderboard), None)
        run.log({"leaderboard": wandb.Table(dataframe=table)})
        run.log({f"plots/{name}": wandb.Image(Image.open(io.BytesIO(png))) for name, png in plots.items()})
        run.summary.update({f"test_{k}": v for k, v in result["test_metrics"].items()})
        run.summary.update({f"best_val_{result['metric']}": result["best"][f"val_{result['metric']}"]})
        artifact = wandb.Artifact(
            name=_artifact_name(f"model-{group}"), type="model",
            metadata={"best_trial": result["best"]["trial_id"], "test_metrics": result["test_metrics"]},
        )
        artifact.add_dir(str(artifact_dir))
        run.log_artifact(artifact)
    finally:
        run.finish()


def trial_run_id(group: str, trial_id: str) -> str:
    """The W&B run id of a trial of the search ``group``: the same whenever that trial runs."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"{group[:40]}-{trial_id}")


def _artifact_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "-", text)


def _is_number(value) -> bool:
    return isinstance(value, Number) and not isinstance(value, bool) and math.isfinite(float(value))
