"""An automl architecture plugin on one screen: a residual MLP.

Copy this package to start your own: rename it, change the builder and its space, keep the
entry point in pyproject.toml. After `pip install .`, `automl plugins` lists `resmlp` and
every search whose space does not exclude it may pick it.
"""

import math

import torch
from torch import nn

from automl import hookimpl
from automl.components import ArchitectureSpec


class ResidualMLP(nn.Module):
    """Project the flattened input to `width`, then `blocks` residual Linear-ReLU blocks, then a head."""

    def __init__(self, input_shape, output_size, width=128, blocks=2):
        super().__init__()
        self.stem = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(input_shape), width), nn.ReLU())
        self.blocks = nn.ModuleList(nn.Sequential(nn.Linear(width, width), nn.ReLU()) for _ in range(blocks))
        self.head = nn.Linear(width, output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)
        for block in self.blocks:
            h = h + block(h)
        return self.head(h)


@hookimpl
def automl_architectures():
    return [
        ArchitectureSpec(
            name="resmlp",
            build=ResidualMLP,
            tasks=("binary", "multiclass", "regression"),
            input_kinds=("tabular",),
            space={"width": {"choice": [64, 128]}, "blocks": {"choice": [1, 2]}},
            description="residual MLP (example third-party plugin)",
        )
    ]
