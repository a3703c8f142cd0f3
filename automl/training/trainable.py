"""One trial: the Ray Tune function trainable of every task. It builds the model (one per
cross-validation fold) a config names, trains it in the one loop, merges the folds' epochs,
reports validation metrics as its :class:`automl.training.report_schedule.ReportPlan` says, and
writes checkpoints (:mod:`automl.training.checkpoints`)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch

from automl.metrics import is_better
from automl.training.building import build_model
from automl.training.checkpoints import Progress, restore_from, training_state, write_checkpoint
from automl.training.epochs import min_steps_of
from automl.training.failures import DIVERGED_KEY, TrainingDiverged
from automl.training.loop import train_epochs
from automl.training.records import Components, TrainingSet
from automl.training.report_schedule import ReportPlan, TuneSession, epoch_reporter


def trial_device() -> torch.device:
    """CUDA when Ray gave this trial a GPU (Ray sets CUDA_VISIBLE_DEVICES), else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def set_trial_threads(cpus: int) -> int:
    """One intra-op thread per CPU the trial was given, so concurrent trials do not oversubscribe;
    returns that thread count."""
    threads = max(1, int(cpus))
    torch.set_num_threads(threads)
    return threads


def train_trial(
    config: dict, data: TrainingSet, components: Components, task, checkpoint_every: int = 0, precision: str = "fp32",
    keep_val_outputs: bool = False, report_plan: ReportPlan = ReportPlan(), keep_fold_models: bool = False,
    session: TuneSession | None = None,
) -> None:
    """The Ray Tune trainable of every task: validation metrics for every epoch, reported as
    ``report_plan`` says (see ``automl.training.report_schedule``: at the scheduler's decision epochs, with
    checkpoints, at least every second, and at the end).

    ``task`` (an :class:`automl.tasks.base.Task`) gives the parameter groups, the batch losses
    and the validation metrics; ``data.metric`` (default: the task's) ranks the epochs. With
    cross-validation (``data.folds``), the trial trains one model per fold, epoch by epoch in
    step, and each epoch reports the mean over the folds of every metric, so schedulers see
    one score per epoch as with a hold-out. With ``checkpoint_every``, it checkpoints weights
    and optimizer state (of every fold model) every that many epochs. With ``keep_val_outputs``
    (ensembles), each checkpoint also holds the best epoch's validation outputs (with folds: out
    of fold, one row per training row), and one is written whenever the validation score
    improves; ``keep_fold_models`` adds the fold models' weights at that epoch (the bag, see
    ``automl.refit``). Each checkpoint says what it holds (``automl.training.checkpoints``). A trial
    handed a checkpoint (a PBT exploit of another trial's weights, a
    retried failure, a resumed search) goes on from it as :func:`restore_from` says. A trial
    whose loss becomes NaN or infinite ends at once with a last report that names the
    divergence (``"diverged"``). ``session`` is its link to Ray Tune (default: the trial's
    own, :class:`automl.training.report_schedule.TuneSession`).
    """
    session = session or TuneSession()
    node_id = session.node_id()
    threads = set_trial_threads(session.cpus())
    device = trial_device()
    seed = int(config.get("seed", 0))
    sets = data.fold_sets()
    models = [build_model(config, components, s.input_shape, s.output_size, device, s.facts(task), task.parameter_groups) for s in sets]
    params = sum(p.numel() for p in models[0].network.parameters())
    metric, mode = task.ranking(data.metric)
    arrays = [s.arrays(config.get("preprocessing")) for s in sets]
    first_epoch, progress, best_val_outputs, best_fold_states = restore_from(session.checkpoint(), models, config)
    best, best_epoch, carried = progress.best, progress.best_epoch, dict(progress.carried)
    started = time.perf_counter()
    epochs = int(config["epochs"])
    batch_size = int(config["batch_size"])
    folds = [
        train_epochs(model, X_train, s.y_train if task.supervised else None, epochs, batch_size, device, seed,
                     task.evaluator(model, s, X_train, X_val, device, seed), first_epoch, precision, task.batch_losses,
                     task.loss_keys, min_steps_of(config))
        for model, s, (X_train, X_val) in zip(models, sets, arrays)
    ]
    with epoch_reporter(report_plan, session) as reporter:
        epoch_reports = report_divergence(fold_mean_epochs(folds), metric)
        for epoch, metrics in enumerate(epoch_reports, start=first_epoch + 1):
            diverged = DIVERGED_KEY in metrics
            improved = not diverged and is_better(metrics[f"val_{metric}"], best, mode)
            if improved:
                best, best_epoch = metrics[f"val_{metric}"], epoch
                carried = {f"best_{key}": metrics[f"val_{key}"] for key in task.carry}
            report = {
                **metrics,
                "epoch": epoch,
                f"best_val_{metric}": best,
                "best_epoch": best_epoch,
                **carried,
                "params": params,
                "train_time_s": time.perf_counter() - started,
                "device": device.type,
                "threads": threads,
                "node_id": node_id,
                **({"folds": len(sets)} if data.folds else {}),
            }
            if diverged:  # the last report: it names the divergence
                reporter.add(report)
                break
            if keep_val_outputs and improved:
                outputs = [task.validation_outputs(m.network, X_val, device) for m, (_, X_val) in zip(models, arrays)]
                best_val_outputs = data.out_of_fold_outputs(outputs) if data.folds else outputs[0]
            if keep_fold_models and improved:
                best_fold_states = [{k: v.detach().cpu().clone() for k, v in m.network.state_dict().items()} for m in models]
            save_state = checkpoint_every and (epoch % checkpoint_every == 0 or epoch == epochs)
            keep_best = (keep_val_outputs or keep_fold_models) and improved
            if not (save_state or keep_best):
                reporter.add(report)
                continue
            with tempfile.TemporaryDirectory() as folder:
                # The best epoch's validation outputs and fold models go in every checkpoint: ensemble
                # selection and the bag read the latest one after the search (automl/ensemble.py, automl/refit.py).
                # With --checkpoint-every, every checkpoint holds the training state (the latest is the one
                # a retry or a resume goes on from), not only those at its period.
                write_checkpoint(Path(folder), Progress(epoch, best, best_epoch, carried), reporter.epochs_with(report),
                                 training_state(models, epoch, best, best_epoch, carried) if checkpoint_every else None,
                                 best_val_outputs, best_fold_states)
                reporter.add(report, checkpoint_dir=folder)


def fold_mean_epochs(folds: list[Iterator[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    """One row per epoch from the epoch rows of each fold model: the mean of every number.

    One fold alone (a hold-out) passes through unchanged. When early stopping stops one fold,
    the trial stops with it (its row carries the reason).
    """
    if len(folds) == 1:
        yield from folds[0]
        return
    for rows in zip(*folds):
        merged: dict[str, Any] = {
            key: float(np.mean([row[key] for row in rows]))
            for key in rows[0] if all(isinstance(row.get(key), (int, float)) for row in rows)
        }
        reasons = [row.get("stop_reason") for row in rows]
        if all(reason and reason == reasons[0] for reason in reasons):
            merged["stop_reason"] = reasons[0]  # every fold, for one reason (a linear model's optimum)
        elif any(reasons):
            merged["stop_reason"] = "; ".join(f"fold {i + 1}: {reason}" for i, reason in enumerate(reasons) if reason)
        yield merged


def report_divergence(epochs: Iterator[dict[str, Any]], metric: str) -> Iterator[dict[str, Any]]:
    """Pass epochs through; a divergence becomes one last row naming it (and no exception).

    The row holds ``val_<metric>`` as NaN (Ray Tune wants the metric in every result; its
    schedulers and searchers skip NaN), so the epochs before it stay the trial's finite record.
    """
    try:
        yield from epochs
    except TrainingDiverged as diverged:
        yield {"train_loss": diverged.loss, f"val_{metric}": float("nan"), "epoch": diverged.epoch, DIVERGED_KEY: str(diverged)}
