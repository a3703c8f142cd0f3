"""The report's plots, drawn with matplotlib from a run's files: best-so-far against wall time,
learning curves of the top trials, score by architecture, hyperparameter effects, and the final
model's confusion matrix or residual plot."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pandas as pd

from automl.report.run_files import RunFiles
from automl.run_records import TrialRecord

TOP_TRIALS = 5
_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]


@dataclass
class Plot:
    """One rendered figure: a short name (also its W&B key), a title, a caption and the PNG bytes."""

    name: str
    title: str
    caption: str
    png: bytes


def render_plots(run: RunFiles) -> list[Plot]:
    """Every plot the run's files allow, in report order."""
    makers = [_best_so_far, _learning_curves, _score_by_architecture, _hyperparameter_effects, _final_model]
    return [plot for make in makers if (plot := make(run)) is not None]


def _figure(width: float = 7.0, height: float = 4.0, ncols: int = 1, nrows: int = 1):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    axes = figure.subplots(nrows, ncols, squeeze=False)
    return figure, axes


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def _metric_label(run: RunFiles) -> str:
    better = "higher" if run.mode == "max" else "lower"
    return f"validation {run.metric} ({better} is better)"


def _best_so_far(run: RunFiles) -> Plot | None:
    rows = [r for r in run.timeline if r.get("value") is not None and np.isfinite(r["value"])]
    if not rows:
        return None
    rows.sort(key=lambda r: r["wall_s"])
    times = np.array([r["wall_s"] for r in rows])
    values = np.array([r["value"] for r in rows], dtype=float)
    best = np.maximum.accumulate(values) if run.mode == "max" else np.minimum.accumulate(values)
    figure, axes = _figure()
    ax = axes[0, 0]
    ax.scatter(times, values, s=12, color="#9ecae1", label="a trial's epoch")
    ax.step(times, best, where="post", color=_COLOURS[0], linewidth=2, label="best so far")
    ax.set_xlabel("wall time since the search started (s)")
    ax.set_ylabel(_metric_label(run))
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    return Plot("best_so_far", "Best so far against wall time",
                f"Every reported epoch of every trial, and the best validation {run.metric} reached by then.", _png(figure))


def _learning_curves(run: RunFiles) -> Plot | None:
    top = list(run.leaderboard.dropna(subset=[f"val_{run.metric}"])["trial_id"].astype(str)[:TOP_TRIALS])
    histories = {t.trial_id: t.history for t in run.trials}
    top = [trial_id for trial_id in top if histories.get(trial_id)]
    if not top:
        return None
    figure, axes = _figure(10, 4, ncols=2)
    for colour, trial_id in zip(_COLOURS, top):
        history = pd.DataFrame(histories[trial_id])
        epochs = history["epoch"] if "epoch" in history else np.arange(1, len(history) + 1)
        if f"val_{run.metric}" in history:
            axes[0, 0].plot(epochs, history[f"val_{run.metric}"], marker="o", markersize=3, color=colour, label=trial_id)
        if "train_loss" in history:
            axes[0, 1].plot(epochs, history["train_loss"], marker="o", markersize=3, color=colour, label=trial_id)
    axes[0, 0].set_ylabel(_metric_label(run))
    axes[0, 1].set_ylabel("training loss")
    for ax in axes[0]:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes[0, 0].legend(title="trial (best first)", fontsize=8)
    return Plot("learning_curves", f"Learning curves of the top {len(top)} trials",
                "Validation metric and training loss per epoch; trials stopped early by the scheduler end sooner.", _png(figure))


def _score_by_architecture(run: RunFiles) -> Plot | None:
    frame = run.leaderboard.dropna(subset=[f"val_{run.metric}"])
    if frame.empty or "architecture" not in frame:
        return None
    names = sorted(frame["architecture"].astype(str).unique())
    figure, axes = _figure(max(5.0, 1.2 * len(names) + 3), 4)
    ax = axes[0, 0]
    groups = [frame.loc[frame["architecture"].astype(str) == name, f"val_{run.metric}"].to_numpy() for name in names]
    ax.boxplot(groups, tick_labels=names, widths=0.5, showfliers=False)
    jitter = np.random.default_rng(0)
    for i, values in enumerate(groups, start=1):
        ax.scatter(i + jitter.uniform(-0.12, 0.12, len(values)), values, s=18, alpha=0.7, color=_COLOURS[(i - 1) % len(_COLOURS)])
    ax.set_xlabel("architecture (each point a trial)")
    ax.set_ylabel(_metric_label(run))
    ax.grid(alpha=0.3, axis="y")
    return Plot("score_by_architecture", "Score by architecture",
                f"Best validation {run.metric} of each trial, grouped by architecture.", _png(figure))


def hyperparameter_table(trials: list[TrialRecord], metric: str) -> pd.DataFrame:
    """One row per scored trial: its flattened hyperparameters that vary, and its score.

    The ensemble is no point of the search space: it has a row on the leaderboard, not here.
    """
    from automl.ensemble import ENSEMBLE_ID

    rows = []
    for trial in trials:
        value = (trial.metrics or {}).get(f"best_val_{metric}")
        if value is None or trial.failed or trial.trial_id == ENSEMBLE_ID:  # failed trials have no score
            continue
        rows.append({**_flatten(trial.config or {}), "score": value})
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    varying = [c for c in frame.columns if c != "score" and frame[c].map(lambda v: "-" if _missing(v) else str(v)).nunique() > 1]
    return frame[varying + ["score"]]


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _flatten(config: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in config.items():
        if key in ("seed",):
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            # A disabled regularizer's hyperparameters were sampled but never used.
            block = {k: v for k, v in value.items() if k == "enabled"} if value.get("enabled") is False else value
            flat.update(_flatten(block, name + "."))
        else:
            flat[name] = value
    return flat


def _hyperparameter_effects(run: RunFiles) -> Plot | None:
    frame = hyperparameter_table(run.trials, run.metric)
    params = [c for c in frame.columns if c != "score"]
    if not params:
        return None
    ncols = min(3, len(params))
    nrows = -(-len(params) // ncols)
    figure, axes = _figure(4 * ncols, 3 * nrows, ncols=ncols, nrows=nrows)
    for ax, param in zip(axes.flat, params):
        values = frame[param]
        present = values.notna()
        numeric = pd.to_numeric(values[present], errors="coerce")
        if numeric.notna().all() and numeric.nunique() > 2 and not values[present].map(type).eq(bool).any():
            # Trials without this hyperparameter (a component they did not use) are left out.
            ax.scatter(numeric, frame.loc[present, "score"], s=20, color=_COLOURS[0], alpha=0.8)
            if numeric.min() > 0 and numeric.max() / numeric.min() > 20:
                ax.set_xscale("log")
        else:
            text = values.map(lambda v: "-" if _missing(v) else f"{v:.3g}" if isinstance(v, float) else str(v))
            labels = sorted(text.unique())
            positions = text.map({label: i for i, label in enumerate(labels)})
            jitter = np.random.default_rng(0).uniform(-0.1, 0.1, len(positions))
            ax.scatter(positions + jitter, frame["score"], s=20, color=_COLOURS[1], alpha=0.8)
            ax.set_xticks(range(len(labels)), labels, rotation=20, fontsize=8)
            ax.set_xlim(-0.5, len(labels) - 0.5)
        ax.set_xlabel(param, fontsize=9)
        ax.set_ylabel(f"val {run.metric}", fontsize=9)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(params):]:
        ax.set_visible(False)
    return Plot("hyperparameter_effects", "Hyperparameter effects",
                f"Each trial's best validation {run.metric} against each hyperparameter that varied.", _png(figure))


def _final_model(run: RunFiles) -> Plot | None:
    evaluation = run.model_metrics.get("test_predictions") or {}
    if "confusion_matrix" in evaluation:
        return _confusion_matrix(evaluation)
    if "true" in evaluation:
        return _residuals(evaluation)
    return None


def _confusion_matrix(evaluation: dict) -> Plot:
    matrix = np.array(evaluation["confusion_matrix"])
    labels = evaluation["labels"]
    size = min(7.5, 3 + 0.4 * len(labels))
    figure, axes = _figure(size + 1, size)
    ax = axes[0, 0]
    image = ax.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=ax, shrink=0.8, label="test rows")
    ax.set_xticks(range(len(labels)), labels, rotation=45 if len(labels) > 6 else 0)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    threshold = matrix.max() / 2 if matrix.size else 0
    if len(labels) <= 20:
        for (i, j), count in np.ndenumerate(matrix):
            ax.text(j, i, str(count), ha="center", va="center", fontsize=8, color="white" if count > threshold else "black")
    return Plot("confusion_matrix", "Final model: confusion matrix on the test split",
                "The refitted model's predictions on the held-out test rows, evaluated once.", _png(figure))


def _residuals(evaluation: dict) -> Plot:
    true = np.array(evaluation["true"], dtype=float)
    predicted = np.array(evaluation["predicted"], dtype=float)
    figure, axes = _figure(10, 4, ncols=2)
    left, right = axes[0]
    left.scatter(true, predicted, s=12, alpha=0.7, color=_COLOURS[0])
    bounds = [min(true.min(), predicted.min()), max(true.max(), predicted.max())]
    left.plot(bounds, bounds, color="#555555", linestyle="--", linewidth=1, label="perfect prediction")
    left.set_xlabel("true value")
    left.set_ylabel("predicted value")
    left.legend(loc="best")
    right.scatter(predicted, true - predicted, s=12, alpha=0.7, color=_COLOURS[1])
    right.axhline(0, color="#555555", linestyle="--", linewidth=1)
    right.set_xlabel("predicted value")
    right.set_ylabel("residual (true − predicted)")
    for ax in axes[0]:
        ax.grid(alpha=0.3)
    shown = f"{len(true)} of {evaluation.get('rows', len(true))}"
    return Plot("residuals", "Final model: residuals on the test split",
                f"The refitted model's predictions on {shown} held-out test rows, evaluated once.", _png(figure))
