"""Greedy ensemble selection (Caruana et al., 2004) over the top K trials of a search.

Where the validation predictions come from: every trial, at each epoch that improves its
validation score, saves that epoch's validation outputs (``val_outputs.npy``) in a Ray Tune
checkpoint (``automl/trial.py``); the engine keeps only the latest, i.e. the best epoch's.
The driver reads them back after the search: nothing is retrained and the test split is
never touched.

Selection (Caruana et al., "Ensemble selection from libraries of models", ICML 2004):
start from the best single trial, then repeatedly add, with replacement, the trial whose
addition gives the best validation score of the averaged predictions (class probabilities
for classification, values for regression); keep the best ensemble seen. A trial chosen
``n`` times weighs ``n / total``. Accuracy ties are broken by the lower validation log-loss.

The ensemble becomes its own leaderboard row, ranked with the trials on the same validation
score. It wins only if it is strictly better than the best single trial; then each member
is refitted on train+val for its own best epoch count with the preprocessing variant it was
selected with, the weighted ensemble is evaluated once on test and saved as one artifact
(``model.json`` holds the member configs and weights; ``weights.pt`` the state_dict of an
:class:`EnsembleNetwork`; the preprocessing keeps each member's fitted feature pipeline, in
member order, under ``member_features``).

The validation score of an ensemble is chosen on the same validation rows that rank the
trials, so, like the best trial's, it is optimistic; the test score is the honest one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from automl.components import CLASSIFICATION_TASKS
from automl.metrics import is_better, ranking_metric, score
from automl.trial import VAL_OUTPUTS_FILE  # written by the trials
ENSEMBLE_ID = "ensemble"
DEFAULT_ROUNDS = 20


@dataclass
class Selection:
    """The outcome of ensemble selection: member trial ids with weights, and the validation metrics."""

    weights: dict[str, float]
    val_metrics: dict[str, float]


def member_predictions(task: str, outputs: np.ndarray) -> np.ndarray:
    """What the ensemble averages: class probabilities (softmax of logits) or values."""
    if task in CLASSIFICATION_TASKS:
        shifted = outputs - outputs.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        return exp / exp.sum(axis=1, keepdims=True)
    return outputs


def combined_outputs(task: str, predictions: np.ndarray) -> np.ndarray:
    """Averaged predictions in the form the metrics and the predictor read (log-probabilities or values)."""
    if task in CLASSIFICATION_TASKS:
        return np.log(np.clip(predictions, 1e-12, None))
    return predictions


def select_ensemble(
    predictions: dict[str, np.ndarray], y_val: np.ndarray, task: str, target_scale: float = 1.0,
    rounds: int = DEFAULT_ROUNDS,
) -> Selection:
    """Greedy forward selection with replacement over ``predictions`` (trial id → its validation
    predictions from :func:`member_predictions`, best trial first)."""
    metric, mode = ranking_metric(task)

    def evaluate(total: np.ndarray, count: int) -> tuple[dict, tuple]:
        averaged = total / count
        metrics = score(task, combined_outputs(task, averaged), y_val, target_scale)
        primary = metrics[metric] if mode == "max" else -metrics[metric]
        if task in CLASSIFICATION_TASKS:
            nll = -float(np.log(np.clip(averaged[np.arange(len(y_val)), y_val], 1e-12, None)).mean())
            return metrics, (primary, -nll)
        return metrics, (primary,)

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


def load_validation_outputs(record) -> np.ndarray | None:
    """The best epoch's validation outputs a trial saved, or ``None`` if it saved none."""
    path = Path(record.checkpoint or "") / VAL_OUTPUTS_FILE
    return np.load(path) if record.checkpoint and path.is_file() else None


def ensemble_record(records: list, size: int, task: str, y_val: np.ndarray, target_scale: float = 1.0):
    """Select an ensemble from the best ``size`` trials: a leaderboard record, or ``None`` when
    fewer than two trials have validation outputs or selection keeps only the best trial."""
    from automl.engine import TrialRecord

    metric, mode = ranking_metric(task)
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
    selection = select_ensemble(predictions, y_val, task, target_scale)
    if len(selection.weights) < 2:
        return None  # selection kept only the best trial: nothing to add to the leaderboard
    by_id = {r.trial_id: r for r in scored}
    members = [
        {"trial_id": t, "weight": w, "config": by_id[t].config,
         "epochs": max(1, int(by_id[t].metrics.get("best_epoch") or by_id[t].config["epochs"]))}
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
    return TrialRecord(ENSEMBLE_ID, config, metrics, f"ensemble of {len(members)} of the top {len(predictions)}")


def is_ensemble(config: dict) -> bool:
    """Whether a trial or artifact config describes an ensemble."""
    return "ensemble" in config


def wins(ensemble, best_single, task: str) -> bool:
    """Whether the ensemble's validation score is strictly better than the best single trial's."""
    metric, mode = ranking_metric(task)
    key = f"best_val_{metric}"
    return is_better(ensemble.metrics[key], best_single.metrics.get(key), mode)


class EnsembleNetwork(torch.nn.Module):
    """The weighted average of member networks, as one module (TorchScript-compatible).

    Its input stacks one matrix per member, ``(N, members, *input_shape)``: member ``i``
    reads ``x[:, i]``, the rows as its own preprocessing variant encoded them
    (:func:`member_inputs`). Its output is ``log(sum_i w_i softmax(f_i(x)))`` for classification, so the argmax and
    the softmax of the output are the ensemble's class and probabilities exactly as for a
    single network's logits, and ``sum_i w_i f_i(x)`` for regression.
    """

    def __init__(self, members: list, weights: list[float], classification: bool) -> None:
        super().__init__()
        self.members = torch.nn.ModuleList(members)
        self.register_buffer("weights", torch.tensor(weights, dtype=torch.float32))
        self.classification = classification

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The ensemble's output for a batch ``x`` of stacked member inputs (see the class docstring)."""
        total = torch.zeros(1, device=self.weights.device)
        for i, member in enumerate(self.members):
            out = member(x[:, i])
            if self.classification:
                out = torch.softmax(out, dim=1)
            total = total + self.weights[i] * out
        if self.classification:
            return torch.log(total.clamp_min(1e-12))
        return total


def build_ensemble_network(config: dict, task: str, build_member: Callable[[dict], object]):
    """The (untrained) :class:`EnsembleNetwork` an ensemble config describes."""
    members = config["ensemble"]
    return EnsembleNetwork([build_member(m["config"]) for m in members], [m["weight"] for m in members],
                           task in CLASSIFICATION_TASKS)


def member_inputs(matrices: list[np.ndarray]) -> np.ndarray:
    """One input for an :class:`EnsembleNetwork` from each member's matrix of the same rows."""
    return np.stack(matrices, axis=1)


def refit_ensemble_and_test(record, prepared, components, artifact_dir: Path, on_epoch=None, precision: str = "fp32"):
    """Refit every member on train+val for its own epoch count, with its own preprocessing
    variant and the search's ``precision``, score the ensemble once on test and save it as
    one artifact that keeps every member's fitted preprocessing."""
    from automl.refit import RefitResult, fit_on_train_and_val, test_and_save

    members = record.config["ensemble"]
    member_data = [prepared.with_preprocessing(m["config"].get("preprocessing")) for m in members]
    networks = [
        fit_on_train_and_val(member["config"], member["epochs"], data, components, on_epoch, precision).cpu()
        for member, data in zip(members, member_data)
    ]
    network = EnsembleNetwork(networks, [m["weight"] for m in members], prepared.task in CLASSIFICATION_TASKS)
    epochs = max(m["epochs"] for m in members)
    config = {k: v for k, v in record.config.items() if k != "architecture"}
    test_data = replace(member_data[0], X_test=member_inputs([data.X_test for data in member_data]))
    test_metrics = test_and_save(network, config, test_data, epochs, artifact_dir,
                                 extra_state={"member_features": [data.features for data in member_data]}, components=components)
    return RefitResult(network, epochs, test_metrics, artifact_dir)
