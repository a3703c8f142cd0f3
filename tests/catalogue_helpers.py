"""Tiny learnable datasets per input kind and a short training run through the real loop.

Shared by the tests/test_catalogue*.py files.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from automl.registry import load_registry
from automl.training.building import build_model
from automl.training.loop import predict_outputs, train_epochs
from automl.training.records import Components, DataFacts

VOCAB_SIZE = 20
DEFAULT_ARCHITECTURE = {"tabular": "mlp", "image": "mlp", "sequence": "mlp", "text": "gru"}


def tiny_data(kind: str, task: str = "multiclass", n: int = 96, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` rows of ``kind`` input whose target depends on the input in a simple way."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n)
    if kind == "tabular":
        X = rng.normal(0, 1, (n, 6)).astype(np.float32)
        X[:, 0] += 1.5 * (2 * label - 1)
    elif kind == "image":
        X = rng.normal(0, 0.3, (n, 1, 8, 8)).astype(np.float32)
        for i, lab in enumerate(label):  # a bright patch on the left or on the right half
            X[i, 0, 2:6, (1 if lab == 0 else 5) : (3 if lab == 0 else 7)] += 2.0
    elif kind == "sequence":
        X = rng.normal(0, 1, (n, 12, 3)).astype(np.float32)
        X[:, :, 0] += np.sin(np.linspace(0, 3, 12))[None, :] * (2 * label - 1)[:, None] * 2
    elif kind == "text":
        lengths = rng.integers(4, 11, n)
        X = np.zeros((n, 10), dtype=np.int64)
        for i, (lab, length) in enumerate(zip(label, lengths)):  # low or high token ids, right-padded
            low, high = (1, 10) if lab == 0 else (10, VOCAB_SIZE)
            X[i, :length] = rng.integers(low, high, length)
    else:
        raise ValueError(kind)
    if task == "regression":
        return X, (2.0 * label - 1).astype(np.float32).reshape(-1, 1)
    return X, label.astype(np.int64)


def registry_components() -> Components:
    registry = load_registry()
    return Components({f: {n: c.spec for n, c in registry.components[f].items()} for f in registry.components})


WIDTH_KEYS = ("width", "channels", "hidden_size", "model_width", "embedding_dim")


def first_values(space: dict, pick: int = 0) -> dict:
    """A concrete setting of a component's space: the first (``pick=0``) or last (``-1``) choice,
    the low or high end of ranges; widths always the first (smallest), to keep tests fast."""
    values = {}
    for key, domain in space.items():
        if key in WIDTH_KEYS and pick != 0:
            values[key] = first_values({key: domain})[key]
        elif isinstance(domain, dict) and len(domain) == 1:
            kind, args = next(iter(domain.items()))
            if kind in ("choice", "grid"):
                values[key] = args[pick]
            elif kind == "randint":
                values[key] = args[0] if pick == 0 else args[1] - 1
            else:
                values[key] = args[0] if pick == 0 else args[1]
        else:
            values[key] = domain
    return values


def make_config(architecture: dict, loss: dict | None = None, optimizer: dict | None = None,
                regularizers: dict | None = None, epochs: int = 15, batch_size: int = 16) -> dict:
    return {
        "seed": 0, "epochs": epochs, "batch_size": batch_size, "architecture": architecture,
        "loss": loss or {"name": "cross_entropy"},
        "optimizer": optimizer or {"name": "adam", "lr": 0.01},
        "regularizers": regularizers or {},
    }


def loss_before_and_after(config: dict, kind: str, task: str = "multiclass", components: Components | None = None):
    """The loss on the training rows before and after ``config['epochs']`` epochs of training."""
    components = components or registry_components()
    X, y = tiny_data(kind, task)
    output_size = 1 if task == "regression" else 2
    facts = DataFacts.of(task, kind, output_size, y, VOCAB_SIZE if kind == "text" else None)
    device = torch.device("cpu")
    model = build_model(config, components, X.shape[1:], output_size, device, facts)

    def current_loss() -> float:
        outputs = torch.as_tensor(predict_outputs(model.network, X, device))
        with torch.no_grad():
            return float(model.loss(outputs, torch.as_tensor(y)))

    before = current_loss()
    history = list(train_epochs(model, X, y, config["epochs"], config["batch_size"], device, 0))
    return before, current_loss(), model, history
