"""The checks of one component of a plugin, by family: the contract that ``automl.testing``
runs (its docstring says what each family's checks require).

What a task asks of its components is the task's (:class:`automl.tasks.base.Task`): the
output size its architectures are checked with (``contract_output_size``), its ``contract``
(``"outputs"``: ``(N, output_size)`` outputs and a loss of outputs and targets;
``"autoencoder"``; ``"generator"``), its targets (``is_classification``, ``target_kind``).
The checks receive the tasks by name and never name one."""

from __future__ import annotations

import copy
import io
import math
from typing import Any, Callable, Iterable

from automl.components import Regularizer
from automl.data.task import SEVERAL_COLUMNS

BATCH = 4
INPUT_SHAPE = {"tabular": (6,), "image": (3, 16, 16), "sequence": (12, 3), "text": (12,)}
VOCAB_SIZE = 11


def _sample(space: dict, seed: int = 0) -> dict[str, Any]:
    """One draw of a component's hyperparameters, as the search would make it (Ray Tune domains)."""
    import numpy as np

    from automl.space import to_tune

    rng = np.random.default_rng(seed)
    drawn = {}
    for name, value in space.items():
        if name == "enabled":
            continue
        domain = to_tune(value)
        if isinstance(domain, dict) and "grid_search" in domain:
            drawn[name] = domain["grid_search"][0]
        elif hasattr(domain, "sample"):
            drawn[name] = domain.sample(random_state=rng)
        else:
            drawn[name] = domain
        drawn[name] = drawn[name].item() if hasattr(drawn[name], "item") else drawn[name]
    return drawn


def _facts(task, kind: str, with_class_weights: bool = False) -> dict[str, Any]:
    from automl.training.records import DataFacts

    size = task.contract_output_size
    classification = task.is_classification
    metric, mode = task.ranking()
    facts = DataFacts(
        task.name, kind, size, VOCAB_SIZE if kind == "text" else None,
        class_counts=tuple([BATCH] * size) if classification else None, train_rows=BATCH * 3,
        class_weights=tuple([1.0] * (size - 1) + [2.0]) if classification and with_class_weights else None,
        metric=metric, mode=mode,
    )
    return facts.for_builders(epochs=2, batch_size=BATCH)


def _inputs(kind: str, rows: int = BATCH):
    import torch

    generator = torch.Generator().manual_seed(0)
    shape = INPUT_SHAPE[kind]
    if kind == "text":
        tokens = torch.randint(1, VOCAB_SIZE, (rows, *shape), generator=generator)
        tokens[:, -2:] = 0  # padding at the end, as text inputs arrive
        return tokens
    return torch.randn((rows, *shape), generator=generator)


def _targets(task, rows: int = BATCH):
    import torch

    generator = torch.Generator().manual_seed(1)
    size = task.contract_output_size
    if task.is_classification:
        return torch.arange(rows) % size
    if task.target_kind == SEVERAL_COLUMNS:
        return torch.randint(0, 2, (rows, size), generator=generator).float()
    return torch.randn((rows, size), generator=generator)


def _claims(spec) -> list[tuple[str, str]]:
    return [(task, kind) for task in spec.tasks for kind in getattr(spec, "input_kinds", ("tabular",))]


def _task(tasks: dict, name: str):
    """The registered task ``name``, or the failure of a component claiming a task none registers."""
    if name not in tasks:
        raise AssertionError(f"it claims task '{name}', which no installed plugin registers (tasks: {', '.join(tasks)})")
    return tasks[name]


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def _finite_scalar(value, what: str):
    import torch

    _expect(isinstance(value, torch.Tensor), f"{what} is a {type(value).__name__}, not a tensor")
    _expect(value.numel() == 1 and value.dim() <= 1, f"{what} has shape {tuple(value.shape)}, not a scalar")
    if not bool(torch.isfinite(value.detach()).all()):
        raise AssertionError(f"{what} is {float(value.detach())}")
    return value


# ---------------------------------------------------------------------------------------------
# The checks, one family at a time
# ---------------------------------------------------------------------------------------------


def space_check(spec) -> Callable[[], None]:
    def run() -> None:
        from automl.space import validate_component_space

        validate_component_space(spec.space)
        for seed in range(3):
            _sample(dict(spec.space), seed)

    return run


def _architecture_checks(spec, tasks: dict) -> Iterable[tuple[str, Callable[[], None]]]:
    for task, kind in _claims(spec):
        yield f"builds for {task} with {kind} input", lambda task=task, kind=kind: _check_architecture(spec, _task(tasks, task), kind)


def _check_architecture(spec, task, kind: str) -> None:
    import torch

    from automl.training.building import call_builder

    size = task.contract_output_size
    network = call_builder(spec.build, (INPUT_SHAPE[kind], size), _sample(dict(spec.space)), _facts(task, kind))
    _expect(isinstance(network, torch.nn.Module), f"build returned a {type(network).__name__}, not a torch.nn.Module")
    x = _inputs(kind)
    if task.contract == "autoencoder":
        return _check_autoencoder(network, x)
    if task.contract == "generator":
        return _check_generator(network, x)
    network.train()
    outputs = network(x)
    _expect(tuple(outputs.shape) == (BATCH, size), f"outputs have shape {tuple(outputs.shape)}, expected {(BATCH, size)}")
    outputs.float().pow(2).mean().backward()
    grads = [p.grad for p in network.parameters() if p.requires_grad]
    _expect(any(g is not None for g in grads), "no parameter received a gradient")
    network.eval()
    with torch.no_grad():
        shape = tuple(network(x).shape)
    _expect(shape == (BATCH, size), f"eval-mode outputs have shape {shape}, expected {(BATCH, size)}")


def _check_autoencoder(network, x) -> None:
    _expect(hasattr(network, "encode"), "a cluster architecture needs an encode(x) method")
    reconstruction = network(x)
    _expect(tuple(reconstruction.shape) == tuple(x.shape), f"reconstruction has shape {tuple(reconstruction.shape)}, input {tuple(x.shape)}")
    embeddings = network.encode(x)
    _expect(embeddings.dim() == 2 and embeddings.shape[0] == BATCH, f"encode gives shape {tuple(embeddings.shape)}, expected (N, latent)")


def _check_generator(network, x) -> None:
    import torch

    if not hasattr(network, "discriminator") and hasattr(network, "generative_loss"):
        return _check_likelihood_generator(network, x)
    for member in ("discriminator", "generator_parameters", "adversarial_pair", "sample"):
        _expect(hasattr(network, member), f"a generate architecture needs '{member}'")
    real, fake, _ = network.adversarial_pair(x, torch.Generator().manual_seed(0))
    for what, batch in (("real", real), ("fake", fake)):
        scores = network.discriminator(batch)
        _expect(tuple(scores.shape) == (len(batch), 1), f"discriminator scores of {what} rows have shape {tuple(scores.shape)}, expected (N, 1)")
    rows = network.sample(3, torch.Generator().manual_seed(0))
    _expect(tuple(rows.shape) == (3, *x.shape[1:]), f"sample(3) has shape {tuple(rows.shape)}, expected {(3, *x.shape[1:])}")


def _check_likelihood_generator(network, x) -> None:
    """The likelihood form of a ``generate`` architecture: ``generative_loss`` and ``sample``."""
    import torch

    _expect(hasattr(network, "sample"), "a generate architecture needs 'sample'")
    network.train()
    loss = _finite_scalar(network.generative_loss(x, torch.Generator().manual_seed(0)), "generative_loss")
    loss.backward()
    _expect(any(p.grad is not None for p in network.parameters()), "generative_loss gave no parameter a gradient")
    rows = network.sample(3, torch.Generator().manual_seed(0))
    _expect(tuple(rows.shape) == (3, *x.shape[1:]), f"sample(3) has shape {tuple(rows.shape)}, expected {(3, *x.shape[1:])}")


def _loss_checks(spec, tasks: dict) -> Iterable[tuple[str, Callable[[], None]]]:
    from automl.training.building import keyword_parameters

    for name in spec.tasks:
        task = tasks.get(name)
        if task is None:
            yield f"loss for {name}", lambda name=name: _task(tasks, name)
        elif task.contract == "outputs":
            yield f"hard targets for {name}", lambda task=task: _check_loss(spec, task, soft=False)
            if task.is_classification:
                yield f"soft targets for {name}", lambda task=task: _check_loss(spec, task, soft=True)
                if "class_weights" in keyword_parameters(spec.build):
                    yield f"class weights for {name}", lambda task=task: _check_loss(spec, task, soft=False, weighted=True)
        else:
            yield f"loss for {name}", lambda task=task: _check_unsupervised_loss(spec, task)


def _check_loss(spec, task, soft: bool, weighted: bool = False) -> None:
    import torch

    from automl.training.building import call_builder

    size = task.contract_output_size
    loss = call_builder(spec.build, (), _sample(dict(spec.space)), _facts(task, "tabular", weighted))
    outputs = torch.randn((BATCH, size), generator=torch.Generator().manual_seed(2), requires_grad=True)
    targets = _targets(task)
    value = _finite_scalar(loss(outputs, targets), "the loss of class indices" if task.is_classification else "the loss")
    value.backward()
    _expect(outputs.grad is not None and bool(torch.isfinite(outputs.grad).all()), "the loss gives no finite gradient")
    if not soft:
        return
    probabilities = torch.softmax(torch.randn((BATCH, size), generator=torch.Generator().manual_seed(3)), dim=1)
    _finite_scalar(loss(outputs, probabilities), "the loss of class probabilities").backward()
    one_hot = torch.nn.functional.one_hot(targets, size).float()
    with torch.no_grad():
        hard, from_one_hot = float(loss(outputs, targets)), float(loss(outputs, one_hot))
    _expect(math.isclose(hard, from_one_hot, rel_tol=1e-4, abs_tol=1e-6),
            f"one-hot probabilities give {from_one_hot}, the same class indices {hard}")


def _check_unsupervised_loss(spec, task) -> None:
    import torch

    from automl.training.building import call_builder

    loss = call_builder(spec.build, (), _sample(dict(spec.space)), _facts(task, "tabular"))
    if task.contract == "autoencoder":
        x = _inputs("tabular")
        reconstruction = (x + 0.1).requires_grad_()
        _finite_scalar(loss(reconstruction, x), "the reconstruction loss").backward()
        return
    for member in ("discriminator_loss", "generator_loss"):
        _expect(hasattr(loss, member), f"a generate loss needs '{member}'")
    real, fake = torch.randn((BATCH, 1), requires_grad=True), torch.randn((BATCH, 1), requires_grad=True)
    _finite_scalar(loss.discriminator_loss(real, fake), "discriminator_loss").backward()
    _finite_scalar(loss.generator_loss(fake), "generator_loss").backward()


def _optimizer_checks(spec, tasks: dict) -> Iterable[tuple[str, Callable[[], None]]]:
    yield "steps, and its state round-trips", lambda: _check_optimizer(spec, tasks)


def _check_optimizer(spec, tasks: dict) -> None:
    import torch

    from automl.training.building import call_builder

    # An optimizer serves every task: its builder gets the facts of a classification task's (the
    # one with the most classes), or of any task where none classifies.
    every = list(tasks.values())
    classifiers = [t for t in every if t.is_classification]
    hparams = _sample(dict(spec.space))
    facts = _facts(max(classifiers, key=lambda t: t.contract_output_size) if classifiers else every[0], "tabular")
    x = torch.randn((8, 4), generator=torch.Generator().manual_seed(4))

    def build(model):
        built = call_builder(spec.build, (model.parameters(),), hparams, facts)
        optimizer, scheduler = built if isinstance(built, tuple) else (built, None)
        _expect(isinstance(optimizer, torch.optim.Optimizer), f"build returned a {type(optimizer).__name__}, not a torch.optim.Optimizer")
        return optimizer, scheduler

    def step(model, optimizer, scheduler) -> None:
        optimizer.zero_grad()
        model(x).pow(2).mean().backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()

    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    before = [p.detach().clone() for p in model.parameters()]
    optimizer, scheduler = build(model)
    for _ in range(2):
        step(model, optimizer, scheduler)
    _expect(any(not torch.equal(a, b) for a, b in zip(before, model.parameters())), "two steps left every parameter unchanged")
    saved = io.BytesIO()
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict() if scheduler else None}, saved)
    saved.seek(0)
    state = torch.load(saved, weights_only=True)  # as checkpoints are read back
    twin = copy.deepcopy(model)
    twin_optimizer, twin_scheduler = build(twin)
    twin_optimizer.load_state_dict(state["optimizer"])
    if twin_scheduler is not None:
        twin_scheduler.load_state_dict(state["scheduler"])
    step(model, optimizer, scheduler)
    step(twin, twin_optimizer, twin_scheduler)
    for a, b in zip(model.parameters(), twin.parameters()):
        _expect(torch.allclose(a, b, atol=1e-6), "after loading the saved state, the same step gives other parameters")


def _regularizer_checks(spec, tasks: dict) -> Iterable[tuple[str, Callable[[], None]]]:
    for task, kind in _claims(spec):
        yield f"hooks run for {task} with {kind} input", lambda task=task, kind=kind: _check_regularizer(spec, _task(tasks, task), kind)


def _small_model(kind: str, size: int):
    from torch import nn

    shape = INPUT_SHAPE[kind]
    if kind == "text":
        return nn.Sequential(nn.Embedding(VOCAB_SIZE, 4, padding_idx=0), nn.Flatten(), nn.Linear(shape[0] * 4, 8), nn.ReLU(), nn.Linear(8, size))
    return nn.Sequential(nn.Flatten(), nn.Linear(math.prod(shape), 8), nn.ReLU(), nn.Linear(8, size))


def _check_regularizer(spec, task, kind: str) -> None:
    import torch

    from automl.training.building import call_builder

    facts = _facts(task, kind)
    regularizer = call_builder(spec.build, (), _sample(dict(spec.space)), facts)
    _expect(isinstance(regularizer, Regularizer), f"build returned a {type(regularizer).__name__}, not an automl.components.Regularizer")
    size = task.contract_output_size or 3
    model = regularizer.transform_model(_small_model(kind, size))
    _expect(isinstance(model, torch.nn.Module), f"transform_model returned a {type(model).__name__}, not the model")
    model.train()
    batches = task.contract == "outputs" and task.target_kind != SEVERAL_COLUMNS  # targets a batch transform may mix
    x, y = _inputs(kind), _targets(task) if batches else None
    if batches:
        x, y = _check_batch(regularizer.transform_batch(x, y), task, kind)
    outputs = model(x)
    _expect(tuple(outputs.shape) == (BATCH, size), f"the transformed model gives shape {tuple(outputs.shape)}, expected {(BATCH, size)}")
    loss = torch.nn.functional.cross_entropy(outputs, y) if task.is_classification else outputs.pow(2).mean()
    penalty = regularizer.penalty(model)
    if penalty is not None:
        loss = loss + _finite_scalar(penalty, "penalty(model)")
    loss.backward()
    regularizer.after_backward(model)
    for epoch in range(3):
        metrics = {"train_loss": 1.0, "val_loss": 1.0 + epoch, facts["monitor"]: 0.5 - 0.1 * epoch, "epoch": epoch + 1}
        reason = regularizer.stop_reason(metrics)
        _expect(reason is None or isinstance(reason, str), f"stop_reason returned a {type(reason).__name__}, not a str or None")


def _check_batch(batch, task, kind: str):
    import torch

    x, y = _inputs(kind), _targets(task)
    _expect(isinstance(batch, tuple) and len(batch) == 2, "transform_batch must return (inputs, targets)")
    new_x, new_y = batch
    _expect(tuple(new_x.shape) == tuple(x.shape) and new_x.dtype == x.dtype,
            f"transform_batch changed the inputs from {tuple(x.shape)} {x.dtype} to {tuple(new_x.shape)} {new_x.dtype}")
    soft = task.is_classification and new_y.is_floating_point()
    if soft:
        _expect(tuple(new_y.shape) == (BATCH, task.contract_output_size), f"soft targets have shape {tuple(new_y.shape)}, expected (N, classes)")
        _expect(bool(torch.allclose(new_y.sum(dim=1), torch.ones(BATCH), atol=1e-4)), "soft targets' rows do not sum to 1")
    else:
        _expect(tuple(new_y.shape) == tuple(y.shape) and new_y.dtype == y.dtype,
                f"transform_batch changed the targets from {tuple(y.shape)} {y.dtype} to {tuple(new_y.shape)} {new_y.dtype}")
    return new_x, new_y


FAMILY_CHECKS = {
    "architectures": _architecture_checks,
    "losses": _loss_checks,
    "optimizers": _optimizer_checks,
    "regularizers": _regularizer_checks,
}
