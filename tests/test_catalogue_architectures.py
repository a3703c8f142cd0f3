"""Every built-in architecture trains on each input kind it claims and is offered nowhere else."""

from __future__ import annotations

import pytest
import torch

from automl.components import INPUT_KINDS
from automl.registry import load_registry
from automl.space import build_search_space
from automl.training.building import build_network
from automl.training.records import DataFacts
from catalogue_helpers import (
    VOCAB_SIZE, first_values, loss_before_and_after, make_config, registry_components, tiny_data,
)

# Tiny models in this process train fastest on one thread (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("one_torch_thread")

# What each architecture must claim: a wrong declaration fails here, not in a user's search.
EXPECTED_KINDS = {
    "mlp": {"tabular", "image", "sequence"},
    "cnn2d": {"image"},
    "cnn1d": {"sequence"},
    "rnn": {"sequence", "text"},
    "lstm": {"sequence", "text"},
    "gru": {"sequence", "text"},
    "transformer": {"sequence", "text"},
    "ft_transformer": {"tabular"},
    "linear": {"tabular", "image", "sequence"},
    "realmlp": {"tabular"},
    "tabm": {"tabular"},
    "resnet": {"image"},
}
CASES = [(name, kind) for name, kinds in EXPECTED_KINDS.items() for kind in sorted(kinds)]


@pytest.fixture(scope="module")
def registry():
    return load_registry()


@pytest.mark.parametrize("pick", [0, -1], ids=["first-choices", "last-choices"])
@pytest.mark.parametrize("name,kind", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_architecture_training_lowers_the_loss_on_each_claimed_input_kind(registry, name, kind, pick):
    hparams = first_values(registry.get("architectures", name).spec.space, pick)
    before, after, _, _ = loss_before_and_after(make_config({"name": name, **hparams}, epochs=10), kind)
    assert after < 0.7 * before, f"{name} on {kind} with {hparams}: loss {before:.3f} -> {after:.3f}"


@pytest.mark.parametrize("name,kind", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_architecture_outputs_one_value_per_target_for_regression(registry, name, kind):
    X, _ = tiny_data(kind, "regression", n=5)
    hparams = first_values(registry.get("architectures", name).spec.space)
    facts = DataFacts("regression", kind, 1, VOCAB_SIZE if kind == "text" else None).for_builders()
    network, _ = build_network({"architecture": {"name": name, **hparams}}, registry_components(), X.shape[1:], 1, facts)
    network.eval()
    assert network(torch.as_tensor(X)).shape == (5, 1)


@pytest.mark.parametrize("kind", INPUT_KINDS)
@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_search_space_offers_an_architecture_only_for_the_input_kinds_it_fits(registry, task, kind):
    space = build_search_space(registry, {}, task, kind)
    offered = set(space.names("architectures"))
    for name, kinds in EXPECTED_KINDS.items():
        assert (name in offered) == (kind in kinds), f"{name} offered={name in offered} for {task}/{kind}"


def test_text_architectures_embed_the_vocabulary_the_platform_passes(registry):
    facts = DataFacts("multiclass", "text", 2, vocab_size=37).for_builders()
    for name in ("lstm", "transformer"):
        network, _ = build_network({"architecture": {"name": name}}, registry_components(), (10,), 2, facts)
        embeddings = [m for m in network.modules() if isinstance(m, torch.nn.Embedding)]
        assert [e.num_embeddings for e in embeddings] == [37] and embeddings[0].padding_idx == 0


def test_recurrent_summary_ignores_padding_positions(registry):
    """The same tokens give the same prediction whatever padding follows them."""
    facts = DataFacts("multiclass", "text", 2, vocab_size=VOCAB_SIZE).for_builders()
    for pooling in ("last", "mean"):
        network, _ = build_network({"architecture": {"name": "gru", "pooling": pooling}}, registry_components(), (8,), 2, facts)
        network.eval()
        short = torch.tensor([[3, 4, 5, 0, 0, 0, 0, 0]])
        longer = torch.tensor([[3, 4, 5, 0, 0, 0, 0, 0, 0, 0, 0]])
        assert torch.allclose(network(short), network(longer), atol=1e-6)


def test_cnn_residual_blocks_add_their_input(registry):
    network, _ = build_network({"architecture": {"name": "cnn2d", "residual": True, "blocks": 2}},
                               registry_components(), (1, 8, 8), 3)
    blocks = [m for m in network.modules() if type(m).__name__ == "ConvBlock"]
    assert len(blocks) == 2 and all(b.residual for b in blocks)
    assert isinstance(blocks[0].project, torch.nn.Conv2d)  # 1 → 32 channels needs a projection
