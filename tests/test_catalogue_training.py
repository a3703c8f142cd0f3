"""Losses, optimizers and learning-rate schedules: each trains, each is offered only where it fits."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from automl.registry import load_registry
from automl.space import build_search_space
from automl.space import MIN_STEPS_PER_EPOCH
from automl.training.building import build_model, call_builder
from automl.training.epochs import steps_per_epoch
from automl.training.loop import train_epochs
from automl.training.records import DataFacts
from automl_plugins.schedules import lr_multiplier
from catalogue_helpers import (
    first_values, loss_before_and_after, make_config, registry_components, tiny_data,
)

# Tiny models in this process train fastest on one thread (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("one_torch_thread")

LOSS_TASKS = {
    "cross_entropy": {"binary", "multiclass"},
    "focal": {"binary", "multiclass"},
    "mse": {"regression"},
    "mae": {"regression"},
    "huber": {"regression"},
}
LOSS_CASES = [(name, task) for name, tasks in LOSS_TASKS.items() for task in sorted(tasks)]
OPTIMIZERS = ["sgd", "adam", "adamw", "rmsprop", "adagrad"]
SCHEDULES = ["constant", "step", "cosine", "one_cycle"]


@pytest.fixture(scope="module")
def registry():
    return load_registry()


@pytest.mark.parametrize("name,task", LOSS_CASES, ids=[f"{n}-{t}" for n, t in LOSS_CASES])
def test_loss_training_lowers_it_for_each_claimed_task(registry, name, task):
    hparams = first_values(registry.get("losses", name).spec.space, pick=-1)  # e.g. label smoothing 0.1
    config = make_config({"name": "mlp", "depth": 1, "width": 32}, loss={"name": name, **hparams}, epochs=8)
    before, after, _, _ = loss_before_and_after(config, "tabular", task)
    assert after < 0.7 * before, f"{name} ({hparams}) on {task}: {before:.3f} -> {after:.3f}"


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_search_space_offers_a_loss_only_for_the_tasks_it_fits(registry, task):
    offered = set(build_search_space(registry, {}, task, "tabular").names("losses"))
    assert offered >= {n for n, tasks in LOSS_TASKS.items() if task in tasks}
    assert not offered & {n for n, tasks in LOSS_TASKS.items() if task not in tasks}


WEIGHTS = (0.5, 2.0, 1.0)


def weighted_batch(soft: bool):
    """Logits and targets of 12 rows and 3 classes: class indices, or mixup-like probability rows."""
    generator = torch.Generator().manual_seed(0)
    outputs = torch.randn(12, 3, generator=generator)
    targets = torch.tensor([0, 1, 2, 0, 0, 1, 2, 2, 2, 0, 1, 0])
    if soft:
        targets = 0.7 * F.one_hot(targets, 3).float() + 0.3 * F.one_hot(targets.roll(1), 3).float()
    return outputs, targets


def built_loss(registry, name, **hparams):
    """A loss built as a trial builds it, with the ``class_weights`` fact of --class-weights balanced."""
    facts = DataFacts.of("multiclass", "tabular", 3, [0, 1, 2] * 4, class_weights=WEIGHTS).for_builders()
    return call_builder(registry.get("losses", name).spec.build, (), hparams, facts)


@pytest.mark.parametrize("soft", [False, True], ids=["class-indices", "probabilities"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_class_weighted_cross_entropy_is_torchs_weighted_cross_entropy(registry, soft, label_smoothing):
    outputs, targets = weighted_batch(soft)
    expected = torch.nn.CrossEntropyLoss(weight=torch.tensor(WEIGHTS), label_smoothing=label_smoothing)(outputs, targets)
    got = built_loss(registry, "cross_entropy", label_smoothing=label_smoothing)(outputs, targets)
    assert float(got) == pytest.approx(float(expected), rel=1e-6)
    assert float(got) != pytest.approx(float(F.cross_entropy(outputs, targets, label_smoothing=label_smoothing)), rel=1e-3)


@pytest.mark.parametrize("soft", [False, True], ids=["class-indices", "probabilities"])
def test_class_weighted_focal_with_gamma_zero_is_torchs_weighted_cross_entropy(registry, soft):
    outputs, targets = weighted_batch(soft)
    expected = torch.nn.CrossEntropyLoss(weight=torch.tensor(WEIGHTS))(outputs, targets)
    assert float(built_loss(registry, "focal", gamma=0.0)(outputs, targets)) == pytest.approx(float(expected), rel=1e-6)


def test_class_weighted_focal_weighs_each_row_by_its_class(registry):
    outputs, targets = weighted_batch(soft=False)
    per_row = built_loss(registry, "focal", gamma=2.0)(outputs[:1], targets[:1])
    unweighted = registry.get("losses", "focal").spec.build(gamma=2.0)(outputs[:1], targets[:1])
    assert float(per_row) == pytest.approx(float(unweighted), rel=1e-6)  # one row: its weight cancels
    mixed = built_loss(registry, "focal", gamma=2.0)(outputs[:2], targets[:2])
    terms = torch.stack([registry.get("losses", "focal").spec.build(gamma=2.0)(outputs[i : i + 1], targets[i : i + 1]) for i in (0, 1)])
    assert float(mixed) == pytest.approx(float((terms * torch.tensor([0.5, 2.0])).sum() / 2.5), rel=1e-6)


@pytest.mark.parametrize("name", ["cross_entropy", "focal"])
def test_class_weights_are_a_buffer_that_moves_with_the_loss(registry, name):
    loss = built_loss(registry, name).to("meta")
    assert dict(loss.named_buffers())["weight"].device.type == "meta"


def test_a_trial_with_balanced_class_weights_weighs_the_loss_once(registry):
    """--class-weights balanced through the data and trial path: the built loss is exactly
    torch's weighted cross-entropy with the run's weights (not weighted twice, not unweighted)."""
    import numpy as np
    import pandas as pd

    from automl.config import DataConfig
    from automl.data import prepare_data
    from automl.training.building import build_model
    from automl.training.records import Components, TrainingSet

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=120), "y": np.where(np.arange(120) % 6 == 0, "rare", "common")})
    prepared = prepare_data(frame, DataConfig(target="y", class_weights="balanced"))
    data = TrainingSet.of(prepared)
    components = Components({"architectures": {"mlp": registry.get("architectures", "mlp").spec},
                             "losses": {"cross_entropy": registry.get("losses", "cross_entropy").spec},
                             "optimizers": {"adam": registry.get("optimizers", "adam").spec}, "regularizers": {}})
    config = make_config({"name": "mlp", "depth": 1, "width": 8}, loss={"name": "cross_entropy", "label_smoothing": 0.0})
    model = build_model(config, components, data.input_shape, data.output_size, torch.device("cpu"), data.facts())
    outputs, targets = torch.randn(10, 2, generator=torch.Generator().manual_seed(1)), torch.tensor([0] * 8 + [1] * 2)
    weight = torch.as_tensor(prepared.class_weights)
    assert weight[0] != pytest.approx(float(weight[1]), rel=0.5)
    expected = torch.nn.CrossEntropyLoss(weight=weight)(outputs, targets)
    assert float(model.loss(outputs, targets)) == pytest.approx(float(expected), rel=1e-6)


def test_class_weights_refuse_a_loss_that_would_ignore_them():
    from automl.components import LossSpec
    from automl.errors import AutoMLError
    from automl.training.building import check_losses_apply_class_weights
    from automl.training.records import Components

    plain = LossSpec(name="plain", build=lambda: torch.nn.CrossEntropyLoss(), tasks=("multiclass",))
    with pytest.raises(AutoMLError, match="loss 'plain' does not apply class weights"):
        check_losses_apply_class_weights(Components({"losses": {"plain": plain}}))


def test_focal_loss_with_gamma_zero_is_cross_entropy(registry):
    outputs, targets = torch.randn(16, 3), torch.randint(0, 3, (16,))
    focal = registry.get("losses", "focal").spec.build(gamma=0.0)
    assert torch.allclose(focal(outputs, targets), F.cross_entropy(outputs, targets), atol=1e-6)


@pytest.mark.parametrize("name", ["cross_entropy", "focal"])
def test_classification_losses_accept_soft_targets_from_mixup(registry, name):
    outputs, targets = torch.randn(8, 3), torch.randint(0, 3, (8,))
    loss = registry.get("losses", name).spec.build()
    one_hot = F.one_hot(targets, 3).float()
    assert torch.allclose(loss(outputs, one_hot), loss(outputs, targets), atol=1e-6)


@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_with_each_schedule_lowers_the_training_loss(registry, name, schedule):
    hparams = {**first_values(registry.get("optimizers", name).spec.space), "schedule": schedule, "warmup": 0.1}
    hparams["lr"] = {"sgd": 0.05, "adagrad": 0.05}.get(name, 0.01)
    config = make_config({"name": "mlp", "depth": 1, "width": 32}, optimizer={"name": name, **hparams}, epochs=8)
    before, after, model, _ = loss_before_and_after(config, "tabular")
    assert after < 0.7 * before, f"{name}/{schedule}: {before:.3f} -> {after:.3f}"
    assert (model.scheduler is None) == (schedule == "constant" and not hparams["warmup"])


def test_schedules_have_their_documented_shapes():
    total = 100
    constant, step, cosine, cycle = (lr_multiplier(s, total) for s in SCHEDULES)
    assert constant(0) == constant(99) == 1.0
    assert step(10) == 1.0 and math.isclose(step(60), 0.1) and math.isclose(step(80), 0.01)
    assert cosine(0) == 1.0 and cosine(50) == pytest.approx(0.5) and cosine(100) == pytest.approx(0.0)
    peak = max(range(total), key=cycle)
    assert peak == 30 and cycle(0) == pytest.approx(1 / 25) and cycle(99) < 1e-3
    warm = lr_multiplier("cosine", total, warmup=0.1)
    assert warm(0) < warm(5) < warm(9) <= 1.0 and warm(10) == pytest.approx(1.0)


def test_schedule_steps_every_batch_over_the_configured_epochs(registry):
    """After all configured epochs of a cosine schedule the learning rate has decayed to ~0."""
    config = make_config({"name": "mlp", "depth": 1, "width": 16},
                         optimizer={"name": "sgd", "lr": 0.1, "schedule": "cosine", "warmup": 0.0}, epochs=3)
    _, _, model, _ = loss_before_and_after(config, "tabular")
    assert model.optimizer.param_groups[0]["lr"] < 1e-3
    assert model.scheduler.last_epoch == 3 * math.ceil(96 / 16)  # a config without min_steps_per_epoch: one pass


@pytest.mark.parametrize("rows,batch_size,passes", [(42, 32, 16), (96, 16, 6), (640, 16, 1)])
def test_an_epoch_is_at_least_the_minimum_of_optimizer_steps_and_whole_passes(registry, rows, batch_size, passes):
    """On 42 rows an epoch is not two gradient steps: it repeats whole shuffled passes until it
    has made MIN_STEPS_PER_EPOCH steps; on data with enough batches it stays one pass."""
    X = torch.randn(rows, 4).numpy()
    y = (X[:, 0] > 0).astype("int64")
    config = make_config({"name": "mlp", "depth": 1, "width": 8}, optimizer={"name": "sgd", "lr": 0.01, "schedule": "constant", "warmup": 0.0},
                         epochs=2, batch_size=batch_size)
    config["min_steps_per_epoch"] = MIN_STEPS_PER_EPOCH  # what every space writes into its trial configs
    model = build_model(config, registry_components(), (4,), 2, torch.device("cpu"), DataFacts.of("multiclass", "tabular", 2, y))
    seen: list[int] = []
    model.network.register_forward_pre_hook(lambda module, args: seen.append(len(args[0])) if module.training else None)
    history = list(train_epochs(model, X, y, 2, batch_size, torch.device("cpu"), 0, min_steps=MIN_STEPS_PER_EPOCH))
    assert len(history) == 2
    batches = len(seen) // 2
    assert batches >= MIN_STEPS_PER_EPOCH or passes == 1
    assert sum(seen) == 2 * passes * rows - 2 * passes * (rows % batch_size == 1)  # every row once per pass
    assert batches == steps_per_epoch(rows, batch_size, MIN_STEPS_PER_EPOCH)
    # The schedule's horizon (a builder's steps_per_epoch) is those steps.
    facts = DataFacts.of("multiclass", "tabular", 2, y).for_builders(2, batch_size, MIN_STEPS_PER_EPOCH)
    assert facts["steps_per_epoch"] == batches


def test_builders_without_facts_keep_the_plain_contract():
    def plain(input_shape, output_size, width=4):
        return (input_shape, output_size, width)

    facts = DataFacts("multiclass", "text", 3, vocab_size=9).for_builders()
    assert call_builder(plain, ((5,), 3), {"width": 8}, facts) == ((5,), 3, 8)
    assert call_builder(lambda input_shape, output_size, vocab_size=None: vocab_size, ((5,), 3), {}, facts) == 9
    tabular = DataFacts("multiclass", "tabular", 3).for_builders()
    assert call_builder(lambda input_shape, output_size, vocab_size=None: vocab_size, ((5,), 3), {}, tabular) is None
