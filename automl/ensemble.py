"""Greedy ensemble selection (Caruana et al., 2004) over the top K trials of a search.

On by default (``--ensemble 10``, see ``automl.options``; ``--ensemble 0`` turns it off), for the tasks whose
``Task.ensembles`` is set (classification and regression). Where the validation predictions
come from: every trial, at each epoch that improves its validation score, saves that epoch's
validation outputs (``val_outputs.npy``) in a Ray Tune checkpoint (``automl/training/trainable.py``); the
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

A trial among the top K that selection cannot use (it failed, saved no validation outputs,
saved outputs of another shape, or has NaN outputs on rows selection scores) is left out by
name, with the reason, in the ensemble's status and record (``config["skipped"]``), and the
search shows the same line (:class:`EnsembleOutcome`), also when no ensemble forms.

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

from automl.tasks import Task, task_named
from automl.tasks.ensemble import combined_outputs, member_predictions
from automl.training.checkpoints import VAL_OUTPUTS_FILE  # written by the trials
ENSEMBLE_ID = "ensemble"
DEFAULT_ROUNDS = 20


@dataclass
class Selection:
    """The outcome of ensemble selection: member trial ids with weights, and the validation metrics."""

    weights: dict[str, float]
    val_metrics: dict[str, float]


def select_ensemble(
    predictions: dict[str, np.ndarray], y_val: np.ndarray, task: str | Task, target_scale: float = 1.0,
    rounds: int = DEFAULT_ROUNDS, metric: str | None = None,
) -> Selection:
    """Greedy forward selection with replacement over ``predictions`` (trial id → its validation
    predictions from :func:`member_predictions`, best trial first), on the validation ``metric``
    that ranks the search (default: the task's)."""
    task = _task(task)
    metric, mode = task.ranking(metric)

    def evaluate(total: np.ndarray, count: int) -> tuple[dict, tuple]:
        metrics = task.score(combined_outputs(task.is_classification, total / count), y_val, target_scale)
        primary = metrics[metric] if mode == "max" else -metrics[metric]
        return metrics, (primary, -metrics["log_loss"]) if task.is_classification else (primary,)

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


def _task(task: str | Task) -> Task:
    """A task given by name (the installed plugins' registry) or as the registered object."""
    return task_named(task) if isinstance(task, str) else task


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


@dataclass
class EnsembleOutcome:
    """What ensemble selection did after a search: the ensemble's leaderboard record (``None``
    when none formed), each candidate trial it left out with the reason, and one line that says
    all of it (for the screen and ``result.json``)."""

    record: object | None  # an automl.engine.trial_records.TrialRecord
    skipped: dict[str, str]
    note: str


def choose_ensemble(records: list, size: int, task: str | Task, y_val: np.ndarray, target_scale: float = 1.0,
                    metric: str | None = None, fold_rows: list[np.ndarray] | None = None) -> EnsembleOutcome:
    """Select an ensemble from the top ``size`` trials of the leaderboard. No ensemble forms when
    fewer than two of them have usable validation outputs or selection keeps only the best trial.

    ``y_val`` are the targets of the rows the outputs predict: the validation split, or, with
    cross-validation, every training row (the outputs are out of fold; ``fold_rows`` are the
    rows each fold validates, and rows no fold validates, the earliest block of time-ordered
    folds, are left out of selection). A candidate is left out, by name and with the reason,
    when it failed or has no score, saved no validation outputs, saved outputs of another
    shape, or has NaN or infinite outputs on rows selection scores.

    A trial's cross-validated score is the mean of its folds' scores, so the ensemble's
    leaderboard score is too: a score of the pooled rows differs by the folds' sizes alone,
    which decided ties between the ensemble and the best trial."""
    from automl.engine.trial_records import TrialRecord

    task = _task(task)
    metric, mode = task.ranking(metric)
    key = f"best_val_{metric}"
    scored = [r for r in records if not r.failed and np.isfinite(r.metrics.get(key, np.nan))]
    scored.sort(key=lambda r: r.metrics[key], reverse=(mode == "max"))
    ranked = {r.trial_id for r in scored}
    unscored = [r for r in records if r.trial_id not in ranked]  # failed trials rank last, as on the leaderboard
    selected_rows = np.zeros(len(y_val), dtype=bool)
    for validated in fold_rows or [np.arange(len(y_val))]:
        selected_rows[validated] = True
    every_row, skipped = {}, {}
    for record in (scored + unscored)[:size]:
        predictions, why = _usable_predictions(record, task, key, len(y_val), selected_rows, every_row)
        if why:
            skipped[record.trial_id] = why
        else:
            every_row[record.trial_id] = predictions
    candidates = len(every_row) + len(skipped)
    if len(every_row) < 2:
        return EnsembleOutcome(None, skipped, _note(f"no ensemble: {len(every_row)} of the top {candidates} trials have "
                                                    "usable validation outputs, and an ensemble needs 2", skipped))
    predictions = {t: p[selected_rows] for t, p in every_row.items()}
    selection = select_ensemble(predictions, y_val[selected_rows], task, target_scale, metric=metric)
    if len(selection.weights) < 2:
        return EnsembleOutcome(None, skipped, _note(f"no ensemble: selection kept only the best trial, as adding any of the "
                                                    f"other {len(every_row) - 1} did not improve val {metric}", skipped))
    if fold_rows:
        outputs = combined_outputs(task.is_classification, sum(w * every_row[t] for t, w in selection.weights.items()))
        per_fold = [task.score(outputs[rows], y_val[rows], target_scale) for rows in fold_rows]
        selection.val_metrics = {k: float(np.mean([m[k] for m in per_fold])) for k in per_fold[0]}
    by_id = {r.trial_id: r for r in scored}
    members = [
        {"trial_id": t, "weight": w, "config": by_id[t].config,
         "epochs": max(1, int(by_id[t].metrics.get("best_epoch") or by_id[t].config["epochs"])),
         "checkpoint": by_id[t].checkpoint}
        for t, w in selection.weights.items()
    ]
    summary = " + ".join(f"{m['weight']:.2f}×{m['trial_id']}" for m in members)
    config = {"architecture": {"name": ENSEMBLE_ID, "members": summary}, "ensemble": members, "skipped": skipped}
    metrics = {
        key: selection.val_metrics[metric],
        **{f"val_{k}": v for k, v in selection.val_metrics.items()},
        "params": sum(int(by_id[m["trial_id"]].metrics.get("params", 0)) for m in members),
        "train_time_s": sum(float(by_id[m["trial_id"]].metrics.get("train_time_s", 0.0)) for m in members),
    }
    rows = "out-of-fold" if fold_rows else "validation"
    status = _note(f"ensemble of {len(members)} of the top {len(every_row)}, selected on their {rows} predictions", skipped)
    return EnsembleOutcome(TrialRecord(ENSEMBLE_ID, config, metrics, status), skipped, status)


def _usable_predictions(record, task: Task, key: str, rows: int, selected_rows: np.ndarray,
                        usable: dict[str, np.ndarray]) -> tuple[np.ndarray | None, str]:
    """``(predictions, "")`` of a candidate trial, or ``(None, why selection must leave it out)``;
    ``usable`` are the candidates taken so far (better ranked), whose shape it must share."""
    if record.failed:
        return None, f"it failed ({record.error})"
    if not np.isfinite(record.metrics.get(key, np.nan)):
        return None, "it has no validation score"
    outputs = load_validation_outputs(record)
    if outputs is None:
        return None, "it saved no validation outputs" + ("" if record.checkpoint else " (it has no checkpoint)")
    if len(outputs) != rows:
        return None, f"its validation outputs cover {len(outputs)} rows, not the {rows} that selection scores"
    predictions = member_predictions(task.is_classification, outputs)
    shape = next(iter(usable.values())).shape[1:] if usable else predictions.shape[1:]
    if predictions.shape[1:] != shape:
        return None, f"its validation outputs have {predictions.shape[1:]} values per row, the better trials' {shape}"
    broken = ~np.isfinite(predictions.reshape(rows, -1)).all(axis=1) & selected_rows
    if broken.any():
        return None, f"its validation outputs are NaN or infinite on {broken.sum()} of the {selected_rows.sum()} rows selection scores"
    return predictions, ""


def _note(line: str, skipped: dict[str, str]) -> str:
    """``line``, then each trial left out and why."""
    if not skipped:
        return line
    return f"{line}; left out {len(skipped)}: " + "; ".join(f"trial {t}: {why}" for t, why in skipped.items())
