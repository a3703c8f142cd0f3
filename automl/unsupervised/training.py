"""Training loops of the unsupervised tasks: an autoencoder's reconstruction epochs and a
generator's alternating adversarial epochs, plus the per-epoch report to Ray Tune they share.

Both loops mirror ``automl.trial.train_epochs``: seeded shuffling, mini-batches, a batch of one
skipped, one metrics dict yielded per epoch (with ``evaluate(network)``'s validation metrics),
:class:`automl.failures.TrainingDiverged` raised at the first NaN or infinite batch loss.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping

import numpy as np
import torch

from automl.failures import DIVERGED_KEY, check_loss
from automl.metrics import is_better
from automl.reporting import ReportPlan, epoch_reporter
from automl.trial import Components, DataFacts, build_network, call_builder, report_divergence, split_params

Evaluate = Callable[[torch.nn.Module], dict]


@dataclass
class UnsupervisedModel:
    """A built unsupervised network, its loss, and one optimizer (autoencoders) or two
    (generator first, then discriminator), each with its learning-rate schedule or ``None``."""

    network: torch.nn.Module
    loss: Any
    optimizers: list[torch.optim.Optimizer]
    regularizers: list
    schedulers: list = field(default_factory=list)


def build_unsupervised_model(
    config: Mapping[str, Any], components: Components, input_shape, device, adversarial: bool,
    train_rows: int, input_kind: str = "tabular",
) -> UnsupervisedModel:
    """The architecture, loss and optimizer(s) a trial config names (``output_size`` is 0).

    ``train_rows`` (the rows trained on) sets the schedule horizon builders may ask for, as in
    ``automl.trial.build_model``.
    """
    torch.manual_seed(int(config.get("seed", 0)))
    facts = DataFacts("generate" if adversarial else "cluster", input_kind, 0, train_rows=train_rows)
    offered = facts.for_builders(int(config["epochs"]), int(config["batch_size"]))
    network, regularizers = build_network(config, components, input_shape, 0, offered)
    network = network.to(device)
    loss_name, loss_params = split_params(config["loss"])
    opt_name, opt_params = split_params(config["optimizer"])
    loss = call_builder(components.spec("losses", loss_name).build, (), loss_params, offered)
    build_optimizer = components.spec("optimizers", opt_name).build
    players = [network.generator_parameters(), network.discriminator.parameters()] if adversarial else [network.parameters()]
    built = [call_builder(build_optimizer, (parameters,), opt_params, offered) for parameters in players]
    pairs = [b if isinstance(b, tuple) else (b, None) for b in built]
    return UnsupervisedModel(network, loss, [o for o, _ in pairs], regularizers, [s for _, s in pairs])


def _batches(n: int, batch_size: int, generator: torch.Generator, device) -> Iterator[torch.Tensor]:
    order = torch.randperm(n, generator=generator).to(device)
    for start in range(0, n, batch_size):
        rows = order[start : start + batch_size]
        if len(rows) < 2 and n > 1:
            continue  # a batch of one breaks batch norm and adds only noise
        yield rows


def _with_penalties(loss: torch.Tensor, model: UnsupervisedModel) -> torch.Tensor:
    for regularizer in model.regularizers:
        penalty = regularizer.penalty(model.network)
        if penalty is not None:
            loss = loss + penalty
    return loss


def _step(loss: torch.Tensor, player: int, model: UnsupervisedModel) -> None:
    """One update of optimizer ``player`` (0: the network or generator, 1: the discriminator)."""
    optimizer = model.optimizers[player]
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    for regularizer in model.regularizers:
        regularizer.after_backward(model.network)
    optimizer.step()
    if model.schedulers and model.schedulers[player] is not None:
        model.schedulers[player].step()  # schedules are per batch step


def train_autoencoder_epochs(
    model: UnsupervisedModel, X: np.ndarray, epochs: int, batch_size: int, device, seed: int, evaluate: Evaluate | None = None
) -> Iterator[dict[str, float]]:
    """Minimize ``loss(network(x), x)``; yield ``{"train_loss", ...evaluate()}`` after each epoch."""
    X_t = torch.as_tensor(X, device=device)
    generator = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        model.network.train()
        total, count = 0.0, 0
        for rows in _batches(len(X_t), batch_size, generator, device):
            inputs = X_t[rows]
            loss = _with_penalties(model.loss(model.network(inputs), inputs), model)
            _step(loss, 0, model)
            batch_loss = float(loss.detach())
            check_loss(batch_loss, epoch + 1)
            total += batch_loss * len(rows)
            count += len(rows)
        metrics = {"train_loss": total / max(count, 1)}
        if evaluate is not None:
            metrics.update(evaluate(model.network))
        yield metrics


def train_adversarial_epochs(
    model: UnsupervisedModel, X: np.ndarray, epochs: int, batch_size: int, device, seed: int, evaluate: Evaluate | None = None
) -> Iterator[dict[str, float]]:
    """Per batch, one discriminator step then one generator step; yield the mean generator
    loss (``train_loss``) and discriminator loss after each epoch."""
    X_t = torch.as_tensor(X, device=device)
    generator = torch.Generator().manual_seed(seed)
    noise = torch.Generator().manual_seed(seed + 1)
    network, loss_fn = model.network, model.loss
    for epoch in range(epochs):
        network.train()
        totals, count = np.zeros(2), 0
        for rows in _batches(len(X_t), batch_size, generator, device):
            real, fake, extra = network.adversarial_pair(X_t[rows], noise)
            # The discriminator learns on detached fakes: its step must not move the generator.
            d_loss = loss_fn.discriminator_loss(network.discriminator(real), network.discriminator(fake.detach()))
            _step(d_loss, 1, model)
            g_loss = loss_fn.generator_loss(network.discriminator(fake))
            if extra is not None:
                g_loss = g_loss + extra
            _step(_with_penalties(g_loss, model), 0, model)
            g_value, d_value = float(g_loss.detach()), float(d_loss.detach())
            check_loss(g_value, epoch + 1)
            check_loss(d_value, epoch + 1)
            totals += (g_value * len(rows), d_value * len(rows))
            count += len(rows)
        g_mean, d_mean = totals / max(count, 1)
        metrics = {"train_loss": float(g_mean), "train_discriminator_loss": float(d_mean)}
        if evaluate is not None:
            metrics.update(evaluate(network))
        yield metrics


def report_epochs(
    epochs: Iterable[dict], metric: str, mode: str, params: int, device, carry: tuple[str, ...] = (),
    plan: ReportPlan = ReportPlan(),
) -> None:
    """Report every epoch's metrics to Ray Tune (as ``plan`` says, see ``automl.reporting``) with
    the best validation ``metric`` so far, its epoch, and ``best_<key>`` for each ``val_<key>``
    in ``carry`` at that epoch. A divergence ends the trial with a last report naming it (see
    ``automl.trial.report_divergence``)."""
    best, best_epoch, best_extra, started = None, 0, {}, time.perf_counter()
    with epoch_reporter(plan) as reporter:
        for epoch, metrics in enumerate(report_divergence(epochs, metric), start=1):
            diverged = DIVERGED_KEY in metrics
            if not diverged and is_better(metrics[f"val_{metric}"], best, mode):
                best, best_epoch = metrics[f"val_{metric}"], epoch
                best_extra = {f"best_{key}": metrics[f"val_{key}"] for key in carry}
            reporter.add({
                "epoch": epoch, **metrics, f"best_val_{metric}": best, "best_epoch": best_epoch, **best_extra,
                "params": params, "train_time_s": time.perf_counter() - started, "device": device.type,
            })
            if diverged:
                break


def refit_epochs(best_metrics: Mapping[str, Any], config: Mapping[str, Any]) -> int:
    """The epoch count that won the trial (at least one)."""
    return max(1, int(best_metrics.get("best_epoch") or config["epochs"]))


@torch.no_grad()
def embed(network: torch.nn.Module, X: np.ndarray, device, batch_size: int = 1024) -> np.ndarray:
    """An autoencoder's embeddings of ``X`` as a float64 array (for scikit-learn)."""
    network.eval()
    parts = [network.encode(torch.as_tensor(X[i : i + batch_size], device=device)).cpu().numpy() for i in range(0, len(X), batch_size)]
    return np.concatenate(parts).astype(np.float64)


@torch.no_grad()
def reconstruction_loss(network: torch.nn.Module, loss, X: np.ndarray, device, batch_size: int = 1024) -> float:
    """An autoencoder's mean loss on ``X``, in batches."""
    network.eval()
    total = 0.0
    for start in range(0, len(X), batch_size):
        batch = torch.as_tensor(X[start : start + batch_size], device=device)
        total += float(loss(network(batch), batch)) * len(batch)
    return total / max(len(X), 1)


@torch.no_grad()
def generate(network: torch.nn.Module, n: int, seed: int) -> np.ndarray:
    """``n`` generated rows (encoded space), reproducible for a seed."""
    network.eval()
    return network.sample(n, torch.Generator().manual_seed(seed)).float().cpu().numpy()
