"""Regularizers, augmentation and initialization: each trains on every input kind it claims, is
offered nowhere else, and does what its name says."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from automl.components import INPUT_KINDS
from automl.registry import load_registry
from automl.space import build_search_space
from automl.training.building import build_network, call_builder
from automl.training.records import DataFacts
from catalogue_helpers import (
    DEFAULT_ARCHITECTURE, first_values, loss_before_and_after, make_config, registry_components,
)

# Tiny models in this process train fastest on one thread (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("one_torch_thread")

EXPECTED_KINDS = {
    "dropout": set(INPUT_KINDS),
    "l1": set(INPUT_KINDS),
    "l2": set(INPUT_KINDS),
    "gradient_clipping": set(INPUT_KINDS),
    "early_stopping": set(INPUT_KINDS),
    "initialization": set(INPUT_KINDS),
    "image_augment": {"image"},
    "sequence_augment": {"sequence"},
    "gaussian_noise": {"tabular"},
    "mixup": {"tabular"},
}
CASES = [(name, kind) for name, kinds in EXPECTED_KINDS.items() for kind in sorted(kinds)]
SCHEMES = ["default", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal", "orthogonal"]


@pytest.fixture(scope="module")
def registry():
    return load_registry()


def with_regularizer(name: str, params: dict, kind: str, task: str = "multiclass", epochs: int = 10):
    architecture = {"name": DEFAULT_ARCHITECTURE[kind], **({"width": 32} if kind != "text" else {"hidden_size": 32})}
    regularizers = {name: {"enabled": True, **params}}
    return loss_before_and_after(make_config(architecture, regularizers=regularizers, epochs=epochs), kind, task)


@pytest.mark.parametrize("name,kind", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_regularizer_training_lowers_the_loss_on_each_claimed_input_kind(registry, name, kind):
    params = first_values(registry.get("regularizers", name).spec.space)
    params.pop("enabled", None)
    before, after, _, _ = with_regularizer(name, params, kind)
    assert after < 0.7 * before, f"{name} {params} on {kind}: {before:.3f} -> {after:.3f}"


@pytest.mark.parametrize("kind", INPUT_KINDS)
def test_search_space_offers_a_regularizer_only_for_the_input_kinds_it_fits(registry, kind):
    offered = set(build_search_space(registry, {}, "multiclass", kind).names("regularizers"))
    for name, kinds in EXPECTED_KINDS.items():
        assert (name in offered) == (kind in kinds), f"{name} offered={name in offered} for {kind}"


@pytest.mark.parametrize("scheme", SCHEMES)
def test_each_initialization_scheme_trains(scheme):
    before, after, _, _ = with_regularizer("initialization", {"scheme": scheme}, "tabular", epochs=8)
    assert after < 0.7 * before


def init_network(scheme: str, architecture: dict, input_shape=(8,), facts=None) -> nn.Module:
    config = {"architecture": architecture, "regularizers": {"initialization": {"enabled": True, "scheme": scheme}}}
    torch.manual_seed(0)
    return build_network(config, registry_components(), input_shape, 8, facts)[0]


def test_orthogonal_initialization_makes_square_weights_orthogonal_and_zeroes_biases():
    network = init_network("orthogonal", {"name": "mlp", "depth": 1, "width": 8})
    linear = [m for m in network.modules() if isinstance(m, nn.Linear)]
    for layer in linear:
        assert torch.allclose(layer.weight @ layer.weight.T, torch.eye(8), atol=1e-5)
        assert torch.count_nonzero(layer.bias) == 0


def test_kaiming_normal_initialization_has_he_variance():
    network = init_network("kaiming_normal", {"name": "mlp", "depth": 1, "width": 512}, input_shape=(256,))
    weight = next(m for m in network.modules() if isinstance(m, nn.Linear)).weight
    assert float(weight.detach().std()) == pytest.approx((2 / 256) ** 0.5, rel=0.05)


def test_default_initialization_leaves_the_framework_weights():
    default = init_network("default", {"name": "mlp", "depth": 1, "width": 8})
    torch.manual_seed(0)
    plain = build_network({"architecture": {"name": "mlp", "depth": 1, "width": 8}}, registry_components(), (8,), 8)[0]
    assert all(torch.equal(a, b) for a, b in zip(default.state_dict().values(), plain.state_dict().values()))


def test_initialization_leaves_embeddings_and_norms_and_reaches_recurrent_weights():
    facts = DataFacts("multiclass", "text", 8, vocab_size=30).for_builders()
    network = init_network("orthogonal", {"name": "lstm", "hidden_size": 8}, (6,), facts)
    assert float(network.embedding.weight.detach().std()) == pytest.approx(1.0, rel=0.2)  # still N(0, 1)
    w_hh = network.recurrent.weight_hh_l0  # four gates stacked: (32, 8) with orthonormal columns
    assert torch.allclose(w_hh.T @ w_hh, torch.eye(8), atol=1e-5)


def test_initialization_is_always_on_and_samples_a_scheme(registry):
    space = build_search_space(registry, {}, "multiclass", "tabular")
    block = space.components["regularizers"]["initialization"]
    assert block["enabled"] is True and block["scheme"] == {"choice": SCHEMES}


def test_gradient_clipping_bounds_the_gradient_norm(registry):
    clip = registry.get("regularizers", "gradient_clipping").spec.build(max_norm=0.5)
    layer = nn.Linear(10, 1)
    (layer(torch.randn(32, 10) * 100).sum()).backward()
    clip.after_backward(layer)
    norm = torch.sqrt(sum((p.grad**2).sum() for p in layer.parameters()))
    assert float(norm) == pytest.approx(0.5, rel=1e-4)


def test_l1_and_l2_penalties_skip_biases(registry):
    layer = nn.Linear(2, 1)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, -2.0]]))
        layer.bias.fill_(10.0)
    assert float(registry.get("regularizers", "l1").spec.build(strength=0.1).penalty(layer)) == pytest.approx(0.3)
    assert float(registry.get("regularizers", "l2").spec.build(strength=0.1).penalty(layer)) == pytest.approx(0.5)


def test_dropout_reaches_models_without_activation_modules(registry):
    facts = DataFacts("multiclass", "text", 2, vocab_size=30).for_builders()
    config = {"architecture": {"name": "gru"}, "regularizers": {"dropout": {"enabled": True, "p": 0.3}}}
    network, _ = build_network(config, registry_components(), (6,), 2, facts)
    assert [m.p for m in network.modules() if isinstance(m, nn.Dropout)] == [0.3]


@pytest.mark.parametrize("architecture,kind", [("ft_transformer", "tabular"), ("transformer", "text")])
def test_dropout_leaves_attention_projections_alone_so_transformers_still_run(registry, architecture, kind):
    # nn.MultiheadAttention reads out_proj.weight directly: wrapping it broke every such trial.
    facts = DataFacts("multiclass", kind, 3, vocab_size=30).for_builders()
    config = {"architecture": {"name": architecture}, "regularizers": {"dropout": {"enabled": True, "p": 0.3}}}
    network, _ = build_network(config, registry_components(), (13,), 3, facts)
    assert any(isinstance(m, nn.Dropout) and m.p == 0.3 for m in network.modules())
    inputs = torch.randint(0, 30, (4, 13)) if kind == "text" else torch.randn(4, 13)
    assert network(inputs).shape == (4, 3)
    network.eval()  # validation: torch's Transformer layers take their fast path here
    with torch.no_grad():
        assert network(inputs).shape == (4, 3)


def test_early_stopping_stops_the_loop_after_patience_epochs_without_improvement(registry):
    """A learning rate too small to change accuracy: the loop stops after 1 + patience epochs."""
    from automl.training.building import build_model
    from automl.training.loop import train_epochs, validation_metrics
    from catalogue_helpers import tiny_data

    X, y = tiny_data("tabular")
    config = make_config({"name": "mlp", "depth": 1, "width": 8}, optimizer={"name": "sgd", "lr": 1e-9, "momentum": 0.0},
                         regularizers={"early_stopping": {"enabled": True, "patience": 2}}, epochs=10)
    facts = DataFacts.of("multiclass", "tabular", 2, y)
    model = build_model(config, registry_components(), X.shape[1:], 2, torch.device("cpu"), facts)
    evaluate = validation_metrics(load_registry().task("multiclass").score, X, y, model.loss, 1.0, torch.device("cpu"))
    history = list(train_epochs(model, X, y, 10, 16, torch.device("cpu"), 0, evaluate))
    assert len(history) == 3
    assert history[-1]["stop_reason"] == "no val_accuracy improvement in 2 epochs"
    assert all("stop_reason" not in h for h in history[:-1])


def test_early_stopping_never_stops_without_validation_metrics(registry):
    stopper = call_builder(registry.get("regularizers", "early_stopping").spec.build, (), {"patience": 1},
                           DataFacts("multiclass").for_builders())
    assert all(stopper.stop_reason({"train_loss": 1.0}) is None for _ in range(5))


def test_image_shifts_move_whole_images_by_at_most_the_shift(registry):
    augment = registry.get("regularizers", "image_augment").spec.build(shift=1, flip_p=0.0)
    images = torch.zeros(64, 1, 8, 8)
    images[:, 0, 3, 4] = 1.0  # one lit pixel, away from the border
    shifted, targets = augment.transform_batch(images, torch.arange(64))
    positions = [tuple(int(v) for v in torch.nonzero(img[0])[0]) for img in shifted]
    assert all(abs(r - 3) <= 1 and abs(c - 4) <= 1 for r, c in positions)
    assert len(set(positions)) > 3 and torch.equal(targets, torch.arange(64))
    assert torch.equal(shifted.sum(dim=(1, 2, 3)), torch.ones(64))


def test_image_flips_mirror_left_right(registry):
    augment = registry.get("regularizers", "image_augment").spec.build(shift=0, flip_p=1.0)
    images = torch.arange(16.0).reshape(1, 1, 4, 4)
    flipped, _ = augment.transform_batch(images, torch.zeros(1))
    assert torch.equal(flipped, images.flip(-1))


def test_sequence_augment_scales_each_series_and_adds_jitter(registry):
    scale_only = registry.get("regularizers", "sequence_augment").spec.build(jitter=0.0, scaling=0.2)
    series = torch.ones(200, 10, 1)
    scaled, _ = scale_only.transform_batch(series, None)
    per_series = scaled[:, :, 0]
    assert torch.allclose(per_series, per_series[:, :1].expand_as(per_series))  # one factor per series
    assert float(per_series[:, 0].std()) == pytest.approx(0.2, rel=0.25)
    jitter_only = registry.get("regularizers", "sequence_augment").spec.build(jitter=0.1, scaling=0.0)
    jittered, _ = jitter_only.transform_batch(series, None)
    assert float((jittered - series).std()) == pytest.approx(0.1, rel=0.1)


def test_mixup_blends_rows_and_turns_classes_into_probabilities(registry):
    facts = DataFacts("multiclass", "tabular", 3).for_builders()
    mixup = call_builder(registry.get("regularizers", "mixup").spec.build, (), {"alpha": 0.4}, facts)
    inputs = torch.eye(3).repeat(4, 1)
    targets = torch.tensor([0, 1, 2] * 4)
    mixed, soft = mixup.transform_batch(inputs, targets)
    assert soft.shape == (12, 3) and torch.allclose(soft.sum(dim=1), torch.ones(12))
    # Row i of the inputs is its class one-hot, so blended inputs must equal the blended targets.
    assert torch.allclose(mixed, soft)


def test_mixup_blends_regression_targets_linearly(registry):
    facts = DataFacts("regression", "tabular", 1).for_builders()
    mixup = call_builder(registry.get("regularizers", "mixup").spec.build, (), {"alpha": 0.4}, facts)
    inputs = torch.arange(10.0).reshape(10, 1)
    mixed, targets = mixup.transform_batch(inputs, 2 * inputs)
    assert torch.allclose(targets, 2 * mixed)
    assert not np.allclose(mixed.numpy(), inputs.numpy())
