"""One trial: build the model, loss, optimizer and regularizers a config names, train in
mini-batch epochs, and report validation metrics every epoch.

``train_epochs`` is the single training loop: Ray Tune trials and the final refit both use it.

An epoch, the unit of every budget (``epochs``, the schedulers' rungs, early stopping's
patience), is one pass over the training rows or, on data too small for the space's
``min_steps_per_epoch`` batches (default 32), as many passes as make that many optimizer
steps: on 42 rows a pass is two batches, and a first rung after two gradient steps judges nothing.
"""

from __future__ import annotations

import inspect
import math
import tempfile
import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import numpy as np
import torch

from automl.checkpoint import Progress, read_checkpoint, write_checkpoint
from automl.checkpoint import FOLD_MODELS_FILE, VAL_OUTPUTS_FILE  # noqa: F401  (the names refit and ensemble read them by)
from automl.errors import AutoMLError
from automl.failures import DIVERGED_KEY, TrainingDiverged, check_loss
from automl.metrics import DEFAULT_METRICS, DIRECTIONS, is_better, score
from automl.reporting import ReportPlan, TuneSession, epoch_reporter


def batches_per_pass(rows: int, batch_size: int) -> int:
    """The optimizer steps of one pass over ``rows`` (a last batch of one row is skipped)."""
    full, rest = divmod(rows, batch_size)
    return max(1, full + (1 if rest >= 2 or full == 0 else 0))


def passes_per_epoch(rows: int, batch_size: int, min_steps: int = 1) -> int:
    """Passes over the training rows per epoch: enough for ``min_steps`` optimizer steps."""
    return math.ceil(min_steps / batches_per_pass(rows, batch_size))


def steps_per_epoch(rows: int, batch_size: int, min_steps: int = 1) -> int:
    return passes_per_epoch(rows, batch_size, min_steps) * batches_per_pass(rows, batch_size)


def min_steps_of(config: Mapping[str, Any]) -> int:
    """A trial config's budget unit. Spaces write it into every config (default
    ``MIN_STEPS_PER_EPOCH``); a config without it (saved before it existed, or written by hand)
    trains one pass per epoch."""
    return int(config.get("min_steps_per_epoch", 1))


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
    # The validation metric that ranks this search's trials (``--metric``) and its direction.
    metric: str | None = None
    mode: str | None = None
    # Cross-validation: one TrainingSet per fold (its fit rows as the train split, its
    # validation rows as the val split), and each fold's validation rows as positions into
    # ``X_train`` / ``y_train`` (every training row), where its out-of-fold outputs go.
    folds: list["TrainingSet"] = field(default_factory=list)
    fold_rows: list[np.ndarray] = field(default_factory=list)
    # A fold's ``(a, b)``: ``a * output + b`` is its model's output in the encoding of every
    # training row (the fold standardized a regression target on its fit rows alone).
    output_map: tuple[float, float] | None = None

    def fold_sets(self) -> list["TrainingSet"]:
        """What a trial trains one model on each of: the folds, or (hold-out) the data itself."""
        return self.folds or [self]

    def arrays(self, preprocessing: Mapping[str, Any] | None) -> tuple[np.ndarray, np.ndarray]:
        """``(X_train, X_val)`` of the preprocessing variant a trial config picks (default: the first)."""
        if not preprocessing or not self.variants:
            return self.X_train, self.X_val
        from automl.variants import variant_key

        return self.variants[variant_key(preprocessing)]

    def out_of_fold_outputs(self, outputs: list[np.ndarray]) -> np.ndarray:
        """The fold models' validation outputs (in fold order) as one array over every training
        row, all in the encoding of ``y_train``."""
        mapped = [o if s.output_map is None else o * np.float32(s.output_map[0]) + np.float32(s.output_map[1])
                  for s, o in zip(self.folds, outputs)]
        return out_of_fold(mapped, self.fold_rows, len(self.y_train))

    def facts(self) -> "DataFacts":
        return DataFacts.of(self.task, self.input_kind, self.output_size, self.y_train, self.vocab_size, self.class_weights,
                            self.metric, self.mode)


def with_folds(data: TrainingSet, prepared) -> TrainingSet:
    """``data`` with one :class:`TrainingSet` per cross-validation fold of ``prepared``
    (an :class:`automl.data.PreparedData`; none with a hold-out): each with what its fold
    fitted on its fit rows alone (features, target encoding, class weights)."""
    if not prepared.folds:
        return data
    folds = []
    for fold in prepared.folds:
        default = fold.variant(None)
        folds.append(replace(
            data, X_train=default.X_train, y_train=fold.y_train, X_val=default.X_val, y_val=fold.y_val,
            target_scale=getattr(fold.target_encoder, "std_", 1.0), class_weights=fold.class_weights, output_map=fold.output_map,
            variants={k: (v.X_train, v.X_val) for k, v in fold.variants.items()} if data.variants else {},
        ))
    return replace(data, folds=folds, fold_rows=[fold.val for fold in prepared.folds])


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
    # The validation metric that ranks trials and its direction (unknown outside a search).
    metric: str | None = None
    mode: str | None = None

    @classmethod
    def of(cls, task: str, input_kind: str, output_size: int, y_train: np.ndarray, vocab_size: int | None = None,
           class_weights: np.ndarray | None = None, metric: str | None = None, mode: str | None = None) -> "DataFacts":
        """The facts of a training split (class counts for classification only); ``class_weights``
        are the run's ``--class-weights`` vector, computed once on the training split."""
        counts = None
        if task in ("binary", "multiclass"):
            counts = tuple(int(c) for c in np.bincount(np.asarray(y_train, dtype=np.int64), minlength=output_size))
        weights = None if class_weights is None else tuple(float(w) for w in class_weights)
        return cls(task, input_kind, output_size, vocab_size, counts, len(y_train), weights, metric, mode)

    def for_builders(self, epochs: int | None = None, batch_size: int | None = None,
                     min_steps: int = 1) -> dict[str, Any]:
        """The keyword facts offered to builders; ``None`` values are never passed."""
        steps = steps_per_epoch(self.train_rows, batch_size, min_steps) if batch_size and self.train_rows else None
        metric = self.metric or DEFAULT_METRICS.get(self.task)  # a search names it; else the task's default
        return {
            "task": self.task, "input_kind": self.input_kind, "output_size": self.output_size,
            "vocab_size": self.vocab_size if self.input_kind == "text" else None,
            "class_counts": self.class_counts, "class_weights": self.class_weights, "epochs": epochs, "steps_per_epoch": steps,
            "monitor": f"val_{metric}" if metric else None, "mode": self.mode or DIRECTIONS.get(metric),
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
    """A built model with everything needed to train it: one optimizer (and its learning-rate
    schedule or ``None``) per parameter group of the task (two for a GAN: generator, discriminator)."""

    network: torch.nn.Module
    loss: Any
    optimizers: list[torch.optim.Optimizer]
    regularizers: list
    schedulers: list = field(default_factory=list)
    # A seeded generator for tasks that draw random inputs (a GAN's noise); reseeded every epoch.
    noise: torch.Generator | None = None

    @property
    def optimizer(self) -> torch.optim.Optimizer:
        """The first (for most tasks the only) optimizer."""
        return self.optimizers[0]

    @property
    def scheduler(self) -> Any:
        """The first optimizer's learning-rate schedule, or ``None``."""
        return self.schedulers[0] if self.schedulers else None


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
    facts: DataFacts | None = None, parameter_groups: Callable[[torch.nn.Module], list] | None = None,
) -> Model:
    """Network, loss, optimizer(s) (and their learning-rate schedules) and regularizers of a config.

    ``parameter_groups(network)`` (a task's) gives one parameter list per optimizer; by default
    one optimizer trains every parameter. The loss gets the ``class_weights`` fact
    (``--class-weights balanced``) and applies it itself.
    """
    torch.manual_seed(int(config.get("seed", 0)))
    offered = facts.for_builders(int(config["epochs"]), int(config["batch_size"]), min_steps_of(config)) if facts else {}
    network, regularizers = build_network(config, components, input_shape, output_size, offered)
    network = network.to(device)
    loss_name, loss_params = split_params(config["loss"])
    opt_name, opt_params = split_params(config["optimizer"])
    loss = call_builder(components.spec("losses", loss_name).build, (), loss_params, offered)
    if isinstance(loss, torch.nn.Module):
        loss = loss.to(device)  # class weights live on the model's device
    build_optimizer = components.spec("optimizers", opt_name).build
    groups = parameter_groups(network) if parameter_groups else [network.parameters()]
    built = [call_builder(build_optimizer, (params,), opt_params, offered) for params in groups]
    pairs = [b if isinstance(b, tuple) else (b, None) for b in built]
    return Model(network, loss, [o for o, _ in pairs], regularizers, [s for _, s in pairs])


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
    Raises :class:`automl.failures.TrainingDiverged` at the first batch whose loss is NaN or
    infinite.
    """
    device = torch.device(device)
    X_t = torch.as_tensor(X, device=device)
    y_t = None if y is None else torch.as_tensor(y, device=device)
    network = model.network
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


def trial_device() -> torch.device:
    """CUDA when Ray gave this trial a GPU (Ray sets CUDA_VISIBLE_DEVICES), else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def set_trial_threads(cpus: int) -> int:
    """One intra-op thread per CPU the trial was given, so concurrent trials do not oversubscribe;
    returns that thread count."""
    threads = max(1, int(cpus))
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
    config: dict, data: TrainingSet, components: Components, task, checkpoint_every: int = 0, precision: str = "fp32",
    keep_val_outputs: bool = False, report_plan: ReportPlan = ReportPlan(), keep_fold_models: bool = False,
    session: TuneSession | None = None,
) -> None:
    """The Ray Tune trainable of every task: validation metrics for every epoch, reported as
    ``report_plan`` says (see ``automl.reporting``: at the scheduler's decision epochs, with
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
    ``automl.refit``). Each checkpoint says what it holds (``automl.checkpoint``). A trial
    handed a checkpoint (a PBT exploit of another trial's weights, a
    retried failure, a resumed search) goes on from it as :func:`restore_from` says. A trial
    whose loss becomes NaN or infinite ends at once with a last report that names the
    divergence (``"diverged"``). ``session`` is its link to Ray Tune (default: the trial's
    own, :class:`automl.reporting.TuneSession`).
    """
    session = session or TuneSession()
    node_id = session.node_id()
    threads = set_trial_threads(session.cpus())
    device = trial_device()
    seed = int(config.get("seed", 0))
    sets = data.fold_sets()
    models = [build_model(config, components, s.input_shape, s.output_size, device, s.facts(), task.parameter_groups) for s in sets]
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
        reasons = [f"fold {i + 1}: {row['stop_reason']}" for i, row in enumerate(rows) if row.get("stop_reason")]
        if reasons:
            merged["stop_reason"] = "; ".join(reasons)
        yield merged


def out_of_fold(outputs: list[np.ndarray], rows: list[np.ndarray], size: int) -> np.ndarray:
    """Each fold's validation outputs at its rows of the training split; rows no fold validates
    (the earliest block of time-ordered folds) stay NaN."""
    oof = np.full((size, *outputs[0].shape[1:]), np.nan, dtype=np.float32)
    for fold_outputs, fold_rows in zip(outputs, rows):
        oof[fold_rows] = fold_outputs
    return oof


def report_divergence(epochs: Iterator[dict[str, Any]], metric: str) -> Iterator[dict[str, Any]]:
    """Pass epochs through; a divergence becomes one last row naming it (and no exception).

    The row holds ``val_<metric>`` as NaN (Ray Tune wants the metric in every result; its
    schedulers and searchers skip NaN), so the epochs before it stay the trial's finite record.
    """
    try:
        yield from epochs
    except TrainingDiverged as diverged:
        yield {"train_loss": diverged.loss, f"val_{metric}": float("nan"), "epoch": diverged.epoch, DIVERGED_KEY: str(diverged)}


def training_state(models: Model | list[Model], epoch: int, best, best_epoch: int, carried: Mapping[str, Any]) -> dict:
    """What a checkpoint holds: weights, every optimizer and schedule (of each fold model), the best score so far."""
    models = models if isinstance(models, list) else [models]
    states = [model_state(m) for m in models]
    # A hold-out trial's one model keeps its keys at the top; fold models go under "folds".
    state = states[0] if len(states) == 1 else {"folds": states}
    state.update({"epoch": epoch, "best": best, "best_epoch": best_epoch, "carried": dict(carried),
                  # Dropout and augmentation draw from it: a resumed trial continues the same draws.
                  "torch_rng": torch.get_rng_state()})
    return state


def model_state(model: Model) -> dict:
    """One model's weights, optimizers and schedules."""
    state = {"network": model.network.state_dict(), "optimizer": model.optimizer.state_dict(),
             "optimizers": [o.state_dict() for o in model.optimizers[1:]]}
    schedules = [s.state_dict() if s is not None else None for s in model.schedulers]
    if any(s is not None for s in schedules):
        state["scheduler"], state["schedulers"] = schedules[0], schedules[1:]
    return state


def restore_from(checkpoint, models: list[Model], config: Mapping[str, Any]) -> tuple[int, Progress, np.ndarray | None, list | None]:
    """``(epochs done, progress, best validation outputs, best fold models)`` that a trial takes
    from the checkpoint Ray Tune hands it (``None``: a fresh start, ``(0, no best, None, None)``).

    A checkpoint says what it holds (:mod:`automl.checkpoint`). With training state, the
    ``models`` go on from it at the next epoch; without (an ensemble's or a bag's checkpoint,
    written at the best epoch only), the trial starts again from epoch 1 but keeps its best
    score, outputs and fold models so far, which a later epoch replaces only by beating them.
    A checkpoint whose files a kill cut short gives nothing: the trial starts afresh.
    """
    nothing = 0, Progress(0, None, 0), None, None
    if checkpoint is None:
        return nothing
    with checkpoint.as_directory() as folder:
        saved = read_checkpoint(folder)
        if saved is None:
            warnings.warn(f"the checkpoint {checkpoint.path} is not whole (cut short by a kill?): the trial starts afresh")
            return nothing
        first_epoch = restore_training_state(saved.training_state(), models, config) if saved.has_training_state else 0
        return first_epoch, saved.progress, saved.val_outputs(), saved.fold_models()


def restore_training_state(state: Mapping[str, Any], models: Model | list[Model], config: Mapping[str, Any]) -> int:
    """Load the weights and optimizer state of each fold model from a :func:`training_state`;
    the config's optimizer hyperparameters win (PBT mutates them). Returns the epochs it had done."""
    models = models if isinstance(models, list) else [models]
    saved_models = state.get("folds", [state])
    if len(saved_models) != len(models):
        raise RuntimeError(f"the checkpoint holds {len(saved_models)} fold model(s), this trial trains {len(models)}")
    for model, saved in zip(models, saved_models):
        restore_model(model, saved, config)
    if "torch_rng" in state:
        torch.set_rng_state(state["torch_rng"])
    return int(state["epoch"])


def restore_model(model: Model, state: Mapping[str, Any], config: Mapping[str, Any]) -> None:
    """One model's weights, optimizers and schedules from ``state``, with the config's optimizer hyperparameters."""
    model.network.load_state_dict(state["network"])
    for optimizer, saved in zip(model.optimizers, [state["optimizer"], *state.get("optimizers", [])]):
        optimizer.load_state_dict(saved)
    for schedule, saved in zip(model.schedulers, [state.get("scheduler"), *state.get("schedulers", [])]):
        if schedule is not None and saved is not None:
            schedule.load_state_dict(saved)
    _, opt_params = split_params(config["optimizer"])
    for optimizer in model.optimizers:
        for group in optimizer.param_groups:
            for key, value in opt_params.items():
                if key in group:
                    group[key] = value
