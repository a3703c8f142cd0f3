"""The one training loop: ``train_epochs`` trains a built model epoch by epoch (Ray Tune
trials and the final refit both use it), and the validation metrics a trial reports.

An epoch is one pass over the training rows or, on data too small for the space's
``min_steps_per_epoch`` batches, as many passes as make that many optimizer steps
(:mod:`automl.training.epochs`). A network that says ``fits_to_optimum = True`` (a convex
model, such as the built-in ``linear``) is instead fitted to its optimum in its first epoch
(:func:`fit_to_optimum`), and training ends there.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import numpy as np
import torch

from automl.training.epochs import passes_per_epoch
from automl.training.failures import check_loss
from automl.training.records import Model


def predict_outputs(network: torch.nn.Module, X: np.ndarray, device, batch_size: int = 1024) -> np.ndarray:
    network.eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, len(X), batch_size):
            batch = torch.as_tensor(X[start : start + batch_size], device=device)
            outputs.append(network(batch).float().cpu().numpy())
    return np.concatenate(outputs)


def supervised_losses(model: Model, inputs: torch.Tensor, targets) -> Iterator[tuple[int, torch.Tensor]]:
    """The losses of a supervised batch: ``loss(network(x), y)`` for the one optimizer."""
    yield 0, model.loss(model.network(inputs), targets)


def train_epochs(
    model: Model, X: np.ndarray, y: np.ndarray | None, epochs: int, batch_size: int, device, seed: int,
    evaluate=None, first_epoch: int = 0, precision: str = "fp32", batch_losses=supervised_losses,
    loss_keys: tuple[str, ...] = ("train_loss",), min_steps: int = 1,
) -> Iterator[dict[str, Any]]:
    """Train epochs ``first_epoch+1 .. epochs``; yield ``{"train_loss", ...evaluate()}`` after each.
An epoch is ``passes_per_epoch`` shuffled passes over ``X``: one, unless ``X`` has fewer than
``min_steps`` batches.

    The one training loop of every task. ``batch_losses(model, inputs, targets)`` (the task's)
    yields ``(optimizer index, loss)`` pairs; each optimizer steps on its loss before the next
    is computed, and ``loss_keys`` names each optimizer's mean loss in the epoch's metrics.
    ``y=None`` trains without targets (no batch transforms). ``precision="bf16"`` runs forward
    passes and losses under bfloat16 autocast. Stops sooner when a regularizer gives a
    ``stop_reason`` (early stopping); that epoch's metrics then carry it as ``"stop_reason"``.
    Raises :class:`automl.training.failures.TrainingDiverged` at the first batch whose loss is NaN or
    infinite.
    """
    device = torch.device(device)
    X_t = torch.as_tensor(X, device=device)
    y_t = None if y is None else torch.as_tensor(y, device=device)
    network = model.network
    if getattr(network, "fits_to_optimum", False) and y_t is not None:
        if first_epoch < epochs:
            # A deterministic full-batch problem: dropout a trial's regularizers inserted stays off.
            network.eval()
            metrics: dict[str, Any] = {loss_keys[0]: fit_to_optimum(model, X_t, y_t, first_epoch + 1)}
            if evaluate is not None:
                metrics.update(evaluate(network))
            # More epochs would find the same optimum: the trial ends with it.
            metrics["stop_reason"] = "fitted to its optimum in one epoch (L-BFGS)"
            yield metrics
        return
    passes = passes_per_epoch(len(X_t), batch_size, min_steps)
    for epoch in range(first_epoch, epochs):
        network.train()
        # Seeded per epoch, so a run resumed from a checkpoint sees the same batches and noise.
        generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
        model.noise = torch.Generator().manual_seed(seed * 100_003 + epoch + 1)
        totals, count = [0.0] * len(model.optimizers), 0
        for _ in range(passes):
            order = torch.randperm(len(X_t), generator=generator).to(device)
            for start in range(0, len(order), batch_size):
                rows = order[start : start + batch_size]
                if len(rows) < 2 and len(order) > 1:
                    continue  # a batch of one breaks batch norm and adds only noise
                inputs, targets = X_t[rows], None if y_t is None else y_t[rows]
                if y_t is not None:
                    for regularizer in model.regularizers:
                        inputs, targets = regularizer.transform_batch(inputs, targets)
                losses = batch_losses(model, inputs, targets)
                while True:
                    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
                        player, loss = next(losses, (None, None))
                    if player is None:
                        break
                    if player == 0:
                        loss = with_penalties(loss, model)
                    step(loss, player, model)
                    # The one host sync per loss, after the step: the check costs no extra sync.
                    value = float(loss.detach())
                    check_loss(value, epoch + 1)
                    totals[player] += value * len(rows)
                count += len(rows)
        metrics: dict[str, Any] = {key: total / max(count, 1) for key, total in zip(loss_keys, totals)}
        if evaluate is not None:
            metrics.update(evaluate(network))
        reasons = [r for r in (reg.stop_reason(metrics) for reg in model.regularizers) if r]
        if reasons:
            metrics["stop_reason"] = "; ".join(reasons)
        yield metrics
        if reasons:
            return


def fit_to_optimum(model: Model, X: torch.Tensor, y: torch.Tensor, epoch: int, max_iterations: int = 500) -> float:
    """Minimize the mean loss over all of ``X`` plus the penalties (the network's own
    ``penalty()`` and every regularizer's) by full-batch L-BFGS with a strong-Wolfe line search,
    until the gradient or the change of the objective vanishes; return the mean training loss.

    For a convex network (``fits_to_optimum``), where this reaches the optimum that mini-batch
    steps only approach: the optimizer the trial's config names is not used, nor the batch
    transforms of its regularizers (mixup, noise), which would change the problem solved.
    """
    network = model.network
    parameters = [p for p in network.parameters() if p.requires_grad]
    solver = torch.optim.LBFGS(parameters, lr=1.0, max_iter=max_iterations, tolerance_grad=1e-7,
                               tolerance_change=1e-10, history_size=20, line_search_fn="strong_wolfe")
    own_penalty = getattr(network, "penalty", None)

    def objective() -> torch.Tensor:
        solver.zero_grad(set_to_none=True)
        loss = with_penalties(model.loss(network(X), y), model)
        if own_penalty is not None:
            loss = loss + own_penalty()
        loss.backward()
        return loss

    solver.step(objective)
    with torch.no_grad():
        value = float(model.loss(network(X), y))
    check_loss(value, epoch)
    return value


def with_penalties(loss: torch.Tensor, model: Model) -> torch.Tensor:
    """``loss`` plus every regularizer's penalty of the network."""
    for regularizer in model.regularizers:
        penalty = regularizer.penalty(model.network)
        if penalty is not None:
            loss = loss + penalty
    return loss


def step(loss: torch.Tensor, player: int, model: Model) -> None:
    """One update of optimizer ``player``, then its learning-rate schedule (schedules are per batch)."""
    optimizer = model.optimizers[player]
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    for regularizer in model.regularizers:
        regularizer.after_backward(model.network)
    optimizer.step()
    if model.schedulers and model.schedulers[player] is not None:
        model.schedulers[player].step()


def validation_metrics(score: Callable[..., dict], X_val, y_val, loss_fn, target_scale: float, device):
    """``evaluate(network) -> {"val_loss", "val_<metric>", ...}`` of a supervised model on the
    validation split; ``score(outputs, targets, target_scale)`` is its task's (``Task.score``)."""
    y_val_t = torch.as_tensor(y_val, device=device)

    def evaluate(network) -> dict[str, float]:
        outputs = predict_outputs(network, X_val, device)
        with torch.no_grad():
            val_loss = float(loss_fn(torch.as_tensor(outputs, device=device), y_val_t))
        return {"val_loss": val_loss, **{f"val_{k}": v for k, v in score(outputs, y_val, target_scale).items()}}

    return evaluate
