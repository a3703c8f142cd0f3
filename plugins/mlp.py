"""Multi-layer perceptron: the dense baseline architecture for tabular (or flattened) input."""

from __future__ import annotations

import math

import torch
from torch import nn

from automl import hookimpl
from automl.components import ArchitectureSpec

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "silu": nn.SiLU}
NORMALIZATIONS = {"none": None, "batch": nn.BatchNorm1d, "layer": nn.LayerNorm}


class MLP(nn.Module):
    """Flatten, then ``depth`` blocks of Linear → [norm] → activation, then a linear head."""

    def __init__(self, input_shape, output_size, depth=2, width=128, activation="relu", normalization="none"):
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        features = math.prod(input_shape)
        for _ in range(depth):
            layers.append(nn.Linear(features, width))
            if NORMALIZATIONS[normalization] is not None:
                layers.append(NORMALIZATIONS[normalization](width))
            layers.append(ACTIVATIONS[activation]())
            features = width
        layers.append(nn.Linear(features, output_size))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


@hookimpl
def automl_architectures():
    return [
        ArchitectureSpec(
            name="mlp",
            build=MLP,
            tasks=("binary", "multiclass", "regression", "multilabel"),
            input_kinds=("tabular", "image", "sequence"),
            space={
                "depth": {"choice": [1, 2, 3]},
                "width": {"choice": [64, 128, 256]},
                "activation": {"choice": ["relu", "gelu", "tanh", "silu"]},
                "normalization": {"choice": ["none", "batch", "layer"]},
            },
            description="dense layers on the flattened input",
        )
    ]
