"""One trial: build the model, loss, optimizer and regularizers a config names, train in
mini-batch epochs, and report validation metrics every epoch.

``train_epochs`` is the single training loop: Ray Tune trials and the final refit both use it.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np
import torch

from automl.metrics import is_better, ranking_metric, score


@dataclass
class TrainingSet:
    """What a trial needs of the data: train and validation arrays and their shapes.

    The test split is deliberately absent: trials never see it.
    """

    task: str
    input_shape: tuple[int, ...]
    output_size: int
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    target_scale: float = 1.0


@dataclass
class Components:
    """The specs a trial may build, by family and name (a slice of the driver's registry)."""

    specs: dict[str, dict[str, Any]]

    def spec(self, family: str, name: str):
        return self.specs[family][name]


@dataclass
class Model:
    """A built model with everything needed to train it."""

    network: torch.nn.Module
    loss: Any
    optimizer: torch.optim.Optimizer
    regularizers: list


def split_params(block: Mapping[str, Any]) -> tuple[str, dict]:
    params = dict(block)
    return params.pop("name"), params


def build_network(config: Mapping[str, Any], components: Components, input_shape, output_size) -> tuple[torch.nn.Module, list]:
    """The architecture a config names, with its model-transforming regularizers applied."""
    name, hparams = split_params(config["architecture"])
    network = components.spec("architectures", name).build(tuple(input_shape), output_size, **hparams)
    regularizers = []
    for reg_name, block in (config.get("regularizers") or {}).items():
        params = dict(block)
        if params.pop("enabled", False):
            regularizers.append(components.spec("regularizers", reg_name).build(**params))
    for regularizer in regularizers:
        network = regularizer.transform_model(network)
    return network, regularizers


def build_model(config: Mapping[str, Any], components: Components, input_shape, output_size, device) -> Model:
    torch.manual_seed(int(config.get("seed", 0)))
    network, regularizers = build_network(config, components, input_shape, output_size)
    network = network.to(device)
    loss_name, loss_params = split_params(config["loss"])
    opt_name, opt_params = split_params(config["optimizer"])
    loss = components.spec("losses", loss_name).build(**loss_params)
    optimizer = components.spec("optimizers", opt_name).build(network.parameters(), **opt_params)
    return Model(network, loss, optimizer, regularizers)


def predict_outputs(network: torch.nn.Module, X: np.ndarray, device, batch_size: int = 1024) -> np.ndarray:
    network.eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, len(X), batch_size):
            batch = torch.as_tensor(X[start : start + batch_size], device=device)
            outputs.append(network(batch).float().cpu().numpy())
    return np.concatenate(outputs)


def train_epochs(
    model: Model, X: np.ndarray, y: np.ndarray, epochs: int, batch_size: int, device, seed: int,
    evaluate=None,
) -> Iterator[dict[str, float]]:
    """Train for ``epochs`` mini-batch epochs; yield ``{"train_loss", ...evaluate()}`` after each."""
    X_t = torch.as_tensor(X, device=device)
    y_t = torch.as_tensor(y, device=device)
    generator = torch.Generator().manual_seed(seed)
    network = model.network
    for _ in range(epochs):
        network.train()
        order = torch.randperm(len(X_t), generator=generator).to(device)
        total, count = 0.0, 0
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            if len(rows) < 2 and len(order) > 1:
                continue  # a batch of one breaks batch norm and adds only noise
            inputs, targets = X_t[rows], y_t[rows]
            for regularizer in model.regularizers:
                inputs, targets = regularizer.transform_batch(inputs, targets)
            loss = model.loss(network(inputs), targets)
            for regularizer in model.regularizers:
                penalty = regularizer.penalty(network)
                if penalty is not None:
                    loss = loss + penalty
            model.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            for regularizer in model.regularizers:
                regularizer.after_backward(network)
            model.optimizer.step()
            total += float(loss.detach()) * len(rows)
            count += len(rows)
        metrics = {"train_loss": total / max(count, 1)}
        if evaluate is not None:
            metrics.update(evaluate(network))
        yield metrics


def trial_device() -> torch.device:
    """CUDA when Ray gave this trial a GPU (Ray sets CUDA_VISIBLE_DEVICES), else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def validation_metrics(task: str, X_val, y_val, loss_fn, target_scale: float, device):
    y_val_t = torch.as_tensor(y_val)

    def evaluate(network) -> dict[str, float]:
        outputs = predict_outputs(network, X_val, device)
        with torch.no_grad():
            val_loss = float(loss_fn(torch.as_tensor(outputs), y_val_t))
        return {"val_loss": val_loss, **{f"val_{k}": v for k, v in score(task, outputs, y_val, target_scale).items()}}

    return evaluate


def train_trial(config: dict, data: TrainingSet, components: Components) -> None:
    """The Ray Tune trainable: reports validation metrics after every epoch."""
    from ray import tune

    # One intra-op thread per CPU Ray gave the trial, so concurrent trials do not oversubscribe.
    torch.set_num_threads(max(1, int(tune.get_context().get_trial_resources().head_cpus or 1)))
    device = trial_device()
    model = build_model(config, components, data.input_shape, data.output_size, device)
    params = sum(p.numel() for p in model.network.parameters())
    metric, mode = ranking_metric(data.task)
    evaluate = validation_metrics(data.task, data.X_val, data.y_val, model.loss, data.target_scale, device)
    best, best_epoch, started = None, 0, time.perf_counter()
    epochs = int(config["epochs"])
    for epoch, metrics in enumerate(
        train_epochs(model, data.X_train, data.y_train, epochs, int(config["batch_size"]), device,
                     int(config.get("seed", 0)), evaluate),
        start=1,
    ):
        current = metrics[f"val_{metric}"]
        if not np.isfinite(metrics["train_loss"]):
            raise FloatingPointError(f"training loss is {metrics['train_loss']} at epoch {epoch}")
        improved = is_better(current, best, mode)
        if improved:
            best, best_epoch = current, epoch
        report = {
            **metrics,
            "epoch": epoch,
            f"best_val_{metric}": best,
            "best_epoch": best_epoch,
            "params": params,
            "train_time_s": time.perf_counter() - started,
            "device": device.type,
        }
        if not improved:
            tune.report(report)
            continue
        # The best epoch's validation outputs, for ensemble selection after the search (automl/ensemble.py).
        with tempfile.TemporaryDirectory() as folder:
            np.save(Path(folder) / "val_outputs.npy", predict_outputs(model.network, data.X_val, device))
            tune.report(report, checkpoint=tune.Checkpoint.from_directory(folder))

