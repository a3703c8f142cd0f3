"""Greedy ensemble selection (Caruana et al., 2004) over the top K trials of a search.

On by default (``--ensemble 10``, see ``automl.options``; ``--ensemble 0`` turns it off), for the tasks whose
``Task.ensembles`` is set (classification and regression). Where the validation predictions
come from: every trial, at each epoch that improves its validation score, saves that epoch's
validation outputs (``val_outputs.npy``) in a Ray Tune checkpoint (``automl/trial.py``); the
engine keeps only the latest, i.e. the best epoch's. With cross-validation they are the
trial's out-of-fold outputs, one per training row (each from the fold model that did not
train on it), so selection scores every training row once; with a hold-out, the validation
rows. The driver reads them back after the search: nothing is retrained and the test split
is never touched.

Selection (Caruana et al., "Ensemble selection from libraries of models", ICML 2004):
start from the best single trial, then repeatedly add, with replacement, the trial whose
addition gives the best validation score of the averaged predictions (class probabilities
for classification, values for regression); keep the best ensemble seen. A trial chosen
``n`` times weighs ``n / total``. Accuracy ties are broken by the lower validation log-loss.

The ensemble becomes its own leaderboard row, ranked with the trials on the same validation
score (:func:`rank_with_ensemble`). It wins unless the best single trial is strictly better:
selection kept it only for beating that trial on the same rows, by the metric or, at an equal
one, by the lower log-loss, and a tie on the leaderboard goes the same way. Then each member
is refitted on train+val (or, with folds and ``--final-model bag``, bagged from its fold
models) for its own best epoch count with the preprocessing variant it was
selected with, the weighted ensemble is evaluated once on test and saved as one artifact
(``model.json`` holds the member configs and weights; ``weights.pt`` the state_dict of an
:class:`EnsembleNetwork`; the preprocessing keeps each member's fitted feature pipeline, in
member order, under ``member_features``).

The validation score of an ensemble is chosen on the same validation rows that rank the
trials, so, like the best trial's, it is optimistic; the test score is the honest one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from automl.components import CLASSIFICATION_TASKS
from automl.metrics import score
from automl.tasks import task_named
from automl.tasks.ensemble import combined_outputs, member_predictions
from automl.trial import VAL_OUTPUTS_FILE  # written by the trials
ENSEMBLE_ID = "ensemble"
DEFAULT_ROUNDS = 20


@dataclass
class Selection:
    """The outcome of ensemble selection: member trial ids with weights, and the validation metrics."""

    weights: dict[str, float]
    val_metrics: dict[str, float]


def select_ensemble(
    predictions: dict[str, np.ndarray], y_val: np.ndarray, task: str, target_scale: float = 1.0,
    rounds: int = DEFAULT_ROUNDS, metric: str | None = None,
) -> Selection:
    """Greedy forward selection with replacement over ``predictions`` (trial id → its validation
    predictions from :func:`member_predictions`, best trial first), on the validation ``metric``
    that ranks the search (default: the task's)."""
    metric, mode = task_named(task).ranking(metric)

    def evaluate(total: np.ndarray, count: int) -> tuple[dict, tuple]:
        metrics = score(task, combined_outputs(task, total / count), y_val, target_scale)
        primary = metrics[metric] if mode == "max" else -metrics[metric]
        return metrics, (primary, -metrics["log_loss"]) if task in CLASSIFICATION_TASKS else (primary,)

    ids = list(predictions)
    counts = {ids[0]: 1}
    total = predictions[ids[0]].astype(np.float64).copy()
    best_metrics, best_key = evaluate(total, 1)
    best_counts = dict(counts)
    for step in range(2, rounds + 1):
        round_best = None
        for trial_id in ids:  # ties go to the better-ranked trial
            metrics, key = evaluate(total + predictions[trial_id], step)
            if round_best is None or key > round_best[2]:
                round_best = (trial_id, metrics, key)
        trial_id, metrics, key = round_best
        total += predictions[trial_id]
        counts[trial_id] = counts.get(trial_id, 0) + 1
        if key > best_key:
            best_metrics, best_key, best_counts = metrics, key, dict(counts)
    size = sum(best_counts.values())
    return Selection({t: c / size for t, c in best_counts.items()}, best_metrics)


def rank_with_ensemble(records: list, ensemble, metric: str, mode: str) -> tuple[list, pd.DataFrame]:
    """``(records, leaderboard)`` with the ``ensemble`` record (``None``: none formed) among the trials.

    The ensemble ranks first among equal scores (see the module docstring); ranked first, it is
    the final model, and its status says so.
    """
    from automl.leaderboard import rank_trials

    if ensemble is None:
        return records, rank_trials(records, metric, mode)
    records = [ensemble, *records]  # the leaderboard's sort is stable: first among equals
    leaderboard = rank_trials(records, metric, mode)
    if leaderboard.loc[0, "trial_id"] == ENSEMBLE_ID:
        ensemble.status += ": the final model (it wins on validation)"
        leaderboard = rank_trials(records, metric, mode)
    return records, leaderboard


def load_validation_outputs(record) -> np.ndarray | None:
    """The best epoch's validation outputs a trial saved, or ``None`` if it saved none."""
    path = Path(record.checkpoint or "") / VAL_OUTPUTS_FILE
    return np.load(path) if record.checkpoint and path.is_file() else None


def ensemble_record(records: list, size: int, task: str, y_val: np.ndarray, target_scale: float = 1.0,
                    metric: str | None = None, fold_rows: list[np.ndarray] | None = None):
    """Select an ensemble from the best ``size`` trials: a leaderboard record, or ``None`` when
    fewer than two trials have validation outputs or selection keeps only the best trial.

    ``y_val`` are the targets of the rows the outputs predict: the validation split, or, with
    cross-validation, every training row (the outputs are out of fold; ``fold_rows`` are the
    rows each fold validates). A trial's cross-validated score is the mean of its folds'
    scores, so the ensemble's leaderboard score is too: a score of the pooled rows differs by
    the folds' sizes alone, which decided ties between the ensemble and the best trial."""
    from automl.engine import TrialRecord

    metric, mode = task_named(task).ranking(metric)
    key = f"best_val_{metric}"
    scored = [r for r in records if not r.failed and np.isfinite(r.metrics.get(key, np.nan))]
    scored.sort(key=lambda r: r.metrics[key], reverse=(mode == "max"))
    predictions = {}
    for record in scored[:size]:
        outputs = load_validation_outputs(record)
        if outputs is not None and len(outputs) == len(y_val):
            predictions[record.trial_id] = member_predictions(task, outputs)
    if len(predictions) < 2:
        return None
    every_row, y_every_row = predictions, y_val
    # Out-of-fold outputs of time-ordered folds leave the earliest rows unscored (NaN): select on the others.
    scored_rows = np.all([np.isfinite(p.reshape(len(p), -1)).all(axis=1) for p in predictions.values()], axis=0)
    if not scored_rows.all():
        predictions = {t: p[scored_rows] for t, p in predictions.items()}
        y_val = y_val[scored_rows]
    selection = select_ensemble(predictions, y_val, task, target_scale, metric=metric)
    if len(selection.weights) < 2:
        return None  # selection kept only the best trial: nothing to add to the leaderboard
    if fold_rows:
        outputs = combined_outputs(task, sum(w * every_row[t] for t, w in selection.weights.items()))
        per_fold = [score(task, outputs[rows], y_every_row[rows], target_scale) for rows in fold_rows]
        selection.val_metrics = {k: float(np.mean([m[k] for m in per_fold])) for k in per_fold[0]}
    by_id = {r.trial_id: r for r in scored}
    members = [
        {"trial_id": t, "weight": w, "config": by_id[t].config,
         "epochs": max(1, int(by_id[t].metrics.get("best_epoch") or by_id[t].config["epochs"])),
         "checkpoint": by_id[t].checkpoint}
        for t, w in selection.weights.items()
    ]
    summary = " + ".join(f"{m['weight']:.2f}×{m['trial_id']}" for m in members)
    config = {"architecture": {"name": ENSEMBLE_ID, "members": summary}, "ensemble": members}
    metrics = {
        key: selection.val_metrics[metric],
        **{f"val_{k}": v for k, v in selection.val_metrics.items()},
        "params": sum(int(by_id[m["trial_id"]].metrics.get("params", 0)) for m in members),
        "train_time_s": sum(float(by_id[m["trial_id"]].metrics.get("train_time_s", 0.0)) for m in members),
    }
    rows = "out-of-fold" if fold_rows else "validation"
    return TrialRecord(ENSEMBLE_ID, config, metrics, f"ensemble of {len(members)} of the top {len(predictions)}, "
                       f"selected on their {rows} predictions")
