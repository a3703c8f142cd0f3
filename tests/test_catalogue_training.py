"""Losses, optimizers and learning-rate schedules: each trains, each is offered only where it fits."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from automl.plugins import load_registry
from automl.space import build_search_space
from automl.trial import DataFacts, call_builder
from automl_plugins.schedules import lr_multiplier
from catalogue_helpers import (  # noqa: F401 (one_torch_thread is an autouse fixture)
    first_values, loss_before_and_after, make_config, one_torch_thread, registry_components, tiny_data,
)

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
    hparams = first_values(registry.get("losses", name).spec.space, pick=-1)  # e.g. balanced class weights
    config = make_config({"name": "mlp", "depth": 1, "width": 32}, loss={"name": name, **hparams}, epochs=8)
    before, after, _, _ = loss_before_and_after(config, "tabular", task)
    assert after < 0.7 * before, f"{name} ({hparams}) on {task}: {before:.3f} -> {after:.3f}"


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_search_space_offers_a_loss_only_for_the_tasks_it_fits(registry, task):
    offered = set(build_search_space(registry, {}, task, "tabular").names("losses"))
    assert offered >= {n for n, tasks in LOSS_TASKS.items() if task in tasks}
    assert not offered & {n for n, tasks in LOSS_TASKS.items() if task not in tasks}


def test_balanced_class_weights_are_inverse_class_frequencies(registry):
    facts = DataFacts.of("binary", "tabular", 2, [0] * 30 + [1] * 10).for_builders()
    loss = call_builder(registry.get("losses", "cross_entropy").spec.build, (), {"class_weights": "balanced"}, facts)
    assert torch.allclose(loss.weight, torch.tensor([40 / 60, 40 / 20]))


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
    assert model.scheduler.last_epoch == 3 * math.ceil(96 / 16)


def test_builders_without_facts_keep_the_plain_contract():
    def plain(input_shape, output_size, width=4):
        return (input_shape, output_size, width)

    facts = DataFacts("multiclass", "text", 3, vocab_size=9).for_builders()
    assert call_builder(plain, ((5,), 3), {"width": 8}, facts) == ((5,), 3, 8)
    assert call_builder(lambda input_shape, output_size, vocab_size=None: vocab_size, ((5,), 3), {}, facts) == 9
    tabular = DataFacts("multiclass", "tabular", 3).for_builders()
    assert call_builder(lambda input_shape, output_size, vocab_size=None: vocab_size, ((5,), 3), {}, tabular) is None
