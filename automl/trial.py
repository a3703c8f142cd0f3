"""One trial: build the model, loss, optimizer and regularizers a config names, train in
mini-batch epochs, and report validation metrics every epoch.

``train_epochs`` is the single training loop: Ray Tune trials and the final refit both use it.
"""

from __future__ import annotations

import inspect
import math
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import numpy as np
import torch

from automl.errors import AutoMLError
from automl.failures import DIVERGED_KEY, TrainingDiverged, check_loss
from automl.metrics import is_better, ranking_metric, score
from automl.reporting import ReportPlan, epoch_reporter
from automl.unsupervised import task_strategy


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
    # Unsupervised tasks only: a fixed cluster count, and the original columns of generated rows.
    n_clusters: int | None = None
    column_space: Any = None
    input_kind: str = "tabular"
    vocab_size: int | None = None
    # Preprocessing variants searched as a dimension: {variant key: (X_train, X_val)}.
    variants: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    class_weights: np.ndarray | None = None

    def arrays(self, preprocessing: Mapping[str, Any] | None) -> tuple[np.ndarray, np.ndarray]:
        """``(X_train, X_val)`` of the preprocessing variant a trial config picks (default: the first)."""
        if not preprocessing or not self.variants:
            return self.X_train, self.X_val
        from automl.data.variants import variant_key

        return self.variants[variant_key(preprocessing)]

    def facts(self) -> "DataFacts":
        return DataFacts.of(self.task, self.input_kind, self.output_size, self.y_train, self.vocab_size, self.class_weights)


@dataclass(frozen=True)
class DataFacts:
    """Facts about the training data that a component's builder may ask for by name.

    A builder receives a fact only when its signature names it as a keyword parameter (see
    "Facts" in ``automl/hookspecs.py``), so builders that need none keep their plain form.
    """

    task: str
    input_kind: str = "tabular"
    output_size: int = 1
    vocab_size: int | None = None
    class_counts: tuple[int, ...] | None = None
    train_rows: int = 0
    class_weights: tuple[float, ...] | None = None

    @classmethod
    def of(cls, task: str, input_kind: str, output_size: int, y_train: np.ndarray, vocab_size: int | None = None,
           class_weights: np.ndarray | None = None) -> "DataFacts":
        """The facts of a training split (class counts for classification only); ``class_weights``
        are the run's ``--class-weights`` vector, computed once on the training split."""
        counts = None
        if task in ("binary", "multiclass"):
            counts = tuple(int(c) for c in np.bincount(np.asarray(y_train, dtype=np.int64), minlength=output_size))
        weights = None if class_weights is None else tuple(float(w) for w in class_weights)
        return cls(task, input_kind, output_size, vocab_size, counts, len(y_train), weights)

    def for_builders(self, epochs: int | None = None, batch_size: int | None = None) -> dict[str, Any]:
        """The keyword facts offered to builders; ``None`` values are never passed."""
        from automl.metrics import ranking_metric

        metric, mode = ranking_metric(self.task)
        steps = math.ceil(self.train_rows / batch_size) if batch_size and self.train_rows else None
        return {
            "task": self.task, "input_kind": self.input_kind, "output_size": self.output_size,
            "vocab_size": self.vocab_size if self.input_kind == "text" else None,
            "class_counts": self.class_counts, "class_weights": self.class_weights, "epochs": epochs, "steps_per_epoch": steps,
            "monitor": f"val_{metric}", "mode": mode,
        }


def keyword_parameters(build: Callable[..., Any], skip: int = 0) -> set[str]:
    """The parameters of ``build`` that a keyword can fill, past its first ``skip``."""
    try:
        parameters = list(inspect.signature(build).parameters.values())
    except (TypeError, ValueError):  # some builtins have no signature: they get no facts
        parameters = []
    keyword_kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {p.name for p in parameters[skip:] if p.kind in keyword_kinds}


def call_builder(build: Callable[..., Any], args: tuple, hparams: Mapping[str, Any], facts: Mapping[str, Any]) -> Any:
    """``build(*args, **hparams)`` plus each fact that ``build`` names as a parameter."""
    # The leading parameters take ``args`` (e.g. ``output_size`` of an architecture) and are not facts.
    names = keyword_parameters(build, len(args))
    extra = {k: v for k, v in facts.items() if k in names and k not in hparams and v is not None}
    return build(*args, **hparams, **extra)


@dataclass
class Components:
    """The specs a trial may build, by family and name (a slice of the driver's registry).

    ``sources`` holds, under the same keys, the registry's :class:`automl.components.Component`
    records (plugin, package, version), which a saved model records (``automl.requirements``).
    """

    specs: dict[str, dict[str, Any]]
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, registry, names: Mapping[str, Any]) -> "Components":
        """The components ``names`` (``{family: [name, ...]}``) of a registry."""
        found = {family: {name: registry.get(family, name) for name in family_names} for family, family_names in names.items()}
        return cls({f: {n: c.spec for n, c in by_name.items()} for f, by_name in found.items()}, found)

    def spec(self, family: str, name: str):
        return self.specs[family][name]


@dataclass
class Model:
    """A built model with everything needed to train it."""

    network: torch.nn.Module
    loss: Any
    optimizer: torch.optim.Optimizer
    regularizers: list
    scheduler: Any = None


def split_params(block: Mapping[str, Any]) -> tuple[str, dict]:
    params = dict(block)
    return params.pop("name"), params


def build_network(
    config: Mapping[str, Any], components: Components, input_shape, output_size, facts: Mapping[str, Any] | None = None
) -> tuple[torch.nn.Module, list]:
    """The architecture a config names, with its model-transforming regularizers applied.

    ``facts`` (from :meth:`DataFacts.for_builders`) go to builders that ask for them.
    """
    facts = facts or {}
    name, hparams = split_params(config["architecture"])
    network = call_builder(components.spec("architectures", name).build, (tuple(input_shape), output_size), hparams, facts)
    regularizers = []
    for reg_name, block in (config.get("regularizers") or {}).items():
        params = dict(block)
        if params.pop("enabled", False):
            regularizers.append(call_builder(components.spec("regularizers", reg_name).build, (), params, facts))
    for regularizer in regularizers:
        network = regularizer.transform_model(network)
    return network, regularizers


def check_losses_apply_class_weights(components: Components) -> None:
    """With ``--class-weights balanced``, refuse a loss that would ignore the weights: the
    ``class_weights`` fact reaches only builders that name it."""
    for name, spec in components.specs.get("losses", {}).items():
        if "class_weights" not in keyword_parameters(spec.build):
            raise AutoMLError(
                f"loss '{name}' does not apply class weights (its builder has no class_weights parameter)",
                "exclude it in the search space (losses: exclude: [...]) or drop --class-weights",
            )


def build_model(
    config: Mapping[str, Any], components: Components, input_shape, output_size, device,
    facts: DataFacts | None = None,
) -> Model:
    """Network, loss, optimizer (and its learning-rate schedule) and regularizers of a config.

    The loss gets the ``class_weights`` fact (``--class-weights balanced``) and applies it itself.
    """
    torch.manual_seed(int(config.get("seed", 0)))
    offered = facts.for_builders(int(config["epochs"]), int(config["batch_size"])) if facts else {}
    network, regularizers = build_network(config, components, input_shape, output_size, offered)
    network = network.to(device)
    loss_name, loss_params = split_params(config["loss"])
    opt_name, opt_params = split_params(config["optimizer"])
    loss = call_builder(components.spec("losses", loss_name).build, (), loss_params, offered)
    if isinstance(loss, torch.nn.Module):
        loss = loss.to(device)  # class weights live on the model's device
    built = call_builder(components.spec("optimizers", opt_name).build, (network.parameters(),), opt_params, offered)
    optimizer, scheduler = built if isinstance(built, tuple) else (built, None)
    return Model(network, loss, optimizer, regularizers, scheduler)


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
    evaluate=None, first_epoch: int = 0, precision: str = "fp32",
) -> Iterator[dict[str, Any]]:
    """Train epochs ``first_epoch+1 .. epochs``; yield ``{"train_loss", ...evaluate()}`` after each.

    ``precision="bf16"`` runs forward passes and losses under bfloat16 autocast. Stops sooner
    when a regularizer gives a ``stop_reason`` (early stopping); that epoch's metrics then
    carry it as ``"stop_reason"``. Raises :class:`automl.failures.TrainingDiverged` at the
    first batch whose loss is NaN or infinite.
    """
    X_t = torch.as_tensor(X, device=device)
    y_t = torch.as_tensor(y, device=device)
    network = model.network
    for epoch in range(first_epoch, epochs):
        network.train()
        # Seeded per epoch, so a run resumed from a checkpoint sees the same batches.
        generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
        order = torch.randperm(len(X_t), generator=generator).to(device)
        total, count = 0.0, 0
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            if len(rows) < 2 and len(order) > 1:
                continue  # a batch of one breaks batch norm and adds only noise
            inputs, targets = X_t[rows], y_t[rows]
            for regularizer in model.regularizers:
                inputs, targets = regularizer.transform_batch(inputs, targets)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
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
            if model.scheduler is not None:
                model.scheduler.step()
            # The one host sync per batch, after the step: the check costs no extra sync.
            batch_loss = float(loss.detach())
            check_loss(batch_loss, epoch + 1)
            total += batch_loss * len(rows)
            count += len(rows)
        metrics: dict[str, Any] = {"train_loss": total / max(count, 1)}
        if evaluate is not None:
            metrics.update(evaluate(network))
        reasons = [r for r in (reg.stop_reason(metrics) for reg in model.regularizers) if r]
        if reasons:
            metrics["stop_reason"] = "; ".join(reasons)
        yield metrics
        if reasons:
            return


def trial_device() -> torch.device:
    """CUDA when Ray gave this trial a GPU (Ray sets CUDA_VISIBLE_DEVICES), else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def set_trial_threads() -> int:
    """One intra-op thread per CPU Ray gave the trial, so concurrent trials do not oversubscribe;
    returns that thread count."""
    from ray import tune

    threads = max(1, int(tune.get_context().get_trial_resources().head_cpus or 1))
    torch.set_num_threads(threads)
    return threads


def validation_metrics(task: str, X_val, y_val, loss_fn, target_scale: float, device):
    y_val_t = torch.as_tensor(y_val, device=device)

    def evaluate(network) -> dict[str, float]:
        outputs = predict_outputs(network, X_val, device)
        with torch.no_grad():
            val_loss = float(loss_fn(torch.as_tensor(outputs, device=device), y_val_t))
        return {"val_loss": val_loss, **{f"val_{k}": v for k, v in score(task, outputs, y_val, target_scale).items()}}

    return evaluate


def train_trial(
    config: dict, data: TrainingSet, components: Components, checkpoint_every: int = 0, precision: str = "fp32",
    keep_val_outputs: bool = False, report_plan: ReportPlan = ReportPlan(),
) -> None:
    """The Ray Tune trainable: validation metrics for every epoch, reported as ``report_plan``
    says (see ``automl.reporting``: at the scheduler's decision epochs, with checkpoints, at
    least every second, and at the end).

    With ``checkpoint_every``, it checkpoints weights and optimizer state every that many
    epochs, and resumes from the checkpoint Ray hands it (a paused HyperBand trial, a PBT
    exploit of another trial's weights, a retried failure). With ``keep_val_outputs``
    (``--ensemble``), each checkpoint also holds the best epoch's validation outputs, and
    one is written whenever the validation score improves. A trial whose loss becomes NaN or
    infinite ends at once with a last report that names the divergence (``"diverged"``).
    """
    import ray
    from ray import tune

    strategy = task_strategy(data.task)
    if strategy is not None:
        return strategy.train_trial(config, data, components, report_plan)

    node_id = ray.get_runtime_context().get_node_id()
    threads = set_trial_threads()
    device = trial_device()
    model = build_model(config, components, data.input_shape, data.output_size, device, data.facts())
    params = sum(p.numel() for p in model.network.parameters())
    metric, mode = ranking_metric(data.task)
    X_train, X_val = data.arrays(config.get("preprocessing"))
    evaluate = validation_metrics(data.task, X_val, data.y_val, model.loss, data.target_scale, device)
    best, best_epoch, first_epoch, best_val_outputs = None, 0, 0, None
    if tune.get_checkpoint() is not None:
        first_epoch, best, best_epoch = restore_training_state(tune.get_checkpoint(), model, config)
    started = time.perf_counter()
    epochs = int(config["epochs"])
    with epoch_reporter(report_plan) as reporter:
        epoch_reports = report_divergence(
            train_epochs(model, X_train, data.y_train, epochs, int(config["batch_size"]), device,
                         int(config.get("seed", 0)), evaluate, first_epoch, precision),
            metric,
        )
        for epoch, metrics in enumerate(epoch_reports, start=first_epoch + 1):
            diverged = DIVERGED_KEY in metrics
            improved = not diverged and is_better(metrics[f"val_{metric}"], best, mode)
            if improved:
                best, best_epoch = metrics[f"val_{metric}"], epoch
            report = {
                **metrics,
                "epoch": epoch,
                f"best_val_{metric}": best,
                "best_epoch": best_epoch,
                "params": params,
                "train_time_s": time.perf_counter() - started,
                "device": device.type,
                "threads": threads,
                "node_id": node_id,
            }
            if diverged:  # the last report: it names the divergence
                reporter.add(report)
                break
            if keep_val_outputs and improved:
                best_val_outputs = predict_outputs(model.network, X_val, device)
            save_state = checkpoint_every and (epoch % checkpoint_every == 0 or epoch == epochs)
            if not (save_state or (keep_val_outputs and improved)):
                reporter.add(report)
                continue
            with tempfile.TemporaryDirectory() as folder:
                if save_state:
                    state = {"network": model.network.state_dict(), "optimizer": model.optimizer.state_dict(),
                             "epoch": epoch, "best": best, "best_epoch": best_epoch,
                             # Dropout and augmentation draw from it: a resumed trial continues the same draws.
                             "torch_rng": torch.get_rng_state()}
                    if model.scheduler is not None:
                        state["scheduler"] = model.scheduler.state_dict()
                    torch.save(state, Path(folder) / CHECKPOINT_FILE)
                if best_val_outputs is not None:
                    # The best epoch's validation outputs, in every checkpoint, for ensemble selection
                    # after the search (automl/ensemble.py reads the latest checkpoint).
                    np.save(Path(folder) / VAL_OUTPUTS_FILE, best_val_outputs)
                reporter.add(report, checkpoint=tune.Checkpoint.from_directory(folder))


def report_divergence(epochs: Iterator[dict[str, Any]], metric: str) -> Iterator[dict[str, Any]]:
    """Pass epochs through; a divergence becomes one last row naming it (and no exception).

    The row holds ``val_<metric>`` as NaN (Ray Tune wants the metric in every result; its
    schedulers and searchers skip NaN), so the epochs before it stay the trial's finite record.
    """
    try:
        yield from epochs
    except TrainingDiverged as diverged:
        yield {"train_loss": diverged.loss, f"val_{metric}": float("nan"), "epoch": diverged.epoch, DIVERGED_KEY: str(diverged)}


CHECKPOINT_FILE = "training_state.pt"
VAL_OUTPUTS_FILE = "val_outputs.npy"


def training_state_file(folder: Path) -> Path:
    """The training state in a checkpoint folder.

    A resumed search can hand a trial an empty placeholder: Ray Tune's saved state named a
    checkpoint that the killed driver deleted after writing newer ones (see
    ``automl.resume.refill_deleted_checkpoints``). The trial then restarts from its newest real one.
    """
    path = folder / CHECKPOINT_FILE
    if path.is_file():
        return path
    newer = sorted(p for p in folder.parent.glob(f"checkpoint_*/{CHECKPOINT_FILE}") if p.parent.name > folder.name)
    return newer[-1] if newer else path


def restore_training_state(checkpoint, model: Model, config: Mapping[str, Any]) -> tuple[int, float | None, int]:
    """Load weights and optimizer state; the config's optimizer hyperparameters win (PBT mutates them)."""
    with checkpoint.as_directory() as folder:
        state = torch.load(training_state_file(Path(folder)), weights_only=True, map_location="cpu")
    model.network.load_state_dict(state["network"])
    model.optimizer.load_state_dict(state["optimizer"])
    if model.scheduler is not None and "scheduler" in state:
        model.scheduler.load_state_dict(state["scheduler"])
    if "torch_rng" in state:
        torch.set_rng_state(state["torch_rng"])
    _, opt_params = split_params(config["optimizer"])
    for group in model.optimizer.param_groups:
        for key, value in opt_params.items():
            if key in group:
                group[key] = value
    return int(state["epoch"]), state["best"], int(state["best_epoch"])
