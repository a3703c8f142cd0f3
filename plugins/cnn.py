"""Convolutional networks: CNN-2D for images ``(C, H, W)`` and CNN-1D for sequences ``(T, F)``.

Both are ``blocks`` convolution blocks (conv → [batch norm] → activation, optionally with a
residual connection, then pooling while the map is still large enough), a global pooling head
and one linear layer. Channels double with each block, starting at ``channels``.
"""

from __future__ import annotations

import torch
from torch import nn

from automl import hookimpl
from automl.components import ArchitectureSpec

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU}
SUPERVISED = ("binary", "multiclass", "regression")


class ConvBlock(nn.Module):
    """Two same-padded convolutions with an optional residual connection around them."""

    def __init__(self, dims: int, in_channels: int, out_channels: int, kernel_size: int,
                 normalization: str, activation: str, residual: bool) -> None:
        super().__init__()
        conv = nn.Conv2d if dims == 2 else nn.Conv1d
        norm = (nn.BatchNorm2d if dims == 2 else nn.BatchNorm1d) if normalization == "batch" else None
        layers: list[nn.Module] = []
        for i in range(2):
            layers.append(conv(in_channels if i == 0 else out_channels, out_channels, kernel_size,
                               padding=kernel_size // 2, bias=norm is None))
            if norm is not None:
                layers.append(norm(out_channels))
            if i == 0:
                layers.append(ACTIVATIONS[activation]())
        self.body = nn.Sequential(*layers)
        self.residual = residual
        # A 1×1 projection lets the residual connection cross a change of channel count.
        self.project = conv(in_channels, out_channels, 1) if residual and in_channels != out_channels else nn.Identity()
        self.activation = ACTIVATIONS[activation]()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        if self.residual:
            out = out + self.project(x)
        return self.activation(out)


class CNN(nn.Module):
    """Convolution blocks, a global pooling head and a linear output layer."""

    def __init__(self, dims: int, in_channels: int, length: int, output_size: int, blocks: int = 2,
                 channels: int = 32, kernel_size: int = 3, pooling: str = "max", residual: bool = False,
                 normalization: str = "batch", activation: str = "relu", global_pool: str = "avg") -> None:
        super().__init__()
        self.dims = dims
        pool = {"max": nn.MaxPool2d if dims == 2 else nn.MaxPool1d, "avg": nn.AvgPool2d if dims == 2 else nn.AvgPool1d}
        layers: list[nn.Module] = []
        width = channels
        for block in range(blocks):
            layers.append(ConvBlock(dims, in_channels, width, kernel_size, normalization, activation, residual))
            if pooling != "none" and length >= 4 and block < blocks - 1:
                layers.append(pool[pooling](2))  # never pool the map below 2 cells
                length //= 2
            in_channels, width = width, width * 2
        self.features = nn.Sequential(*layers)
        self.global_pool = global_pool
        self.head = nn.Linear(in_channels, output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.dims == 1:
            x = x.transpose(1, 2)  # (N, T, F) sequences → (N, F, T) channels first
        maps = self.features(x).flatten(2)
        pooled = maps.mean(dim=2) if self.global_pool == "avg" else maps.amax(dim=2)
        return self.head(pooled)


def build_cnn2d(input_shape, output_size, **hparams) -> CNN:
    """CNN-2D for ``(C, H, W)`` images."""
    channels, height, width = input_shape
    return CNN(2, channels, min(height, width), output_size, **hparams)


def build_cnn1d(input_shape, output_size, **hparams) -> CNN:
    """CNN-1D for ``(T, F)`` sequences: convolution over time, features as channels."""
    steps, features = input_shape
    return CNN(1, features, steps, output_size, **hparams)


def cnn_space(kernel_sizes: list[int]) -> dict:
    return {
        "blocks": {"choice": [1, 2, 3]},
        "channels": {"choice": [16, 32, 64]},
        "kernel_size": {"choice": kernel_sizes},
        "pooling": {"choice": ["max", "avg", "none"]},
        "residual": {"choice": [False, True]},
        "normalization": {"choice": ["batch", "none"]},
        "activation": {"choice": ["relu", "gelu", "silu"]},
        "global_pool": {"choice": ["avg", "max"]},
    }


@hookimpl
def automl_architectures():
    return [
        ArchitectureSpec(name="cnn2d", build=build_cnn2d, tasks=SUPERVISED, input_kinds=("image",),
                         space=cnn_space([3, 5]), description="2-D convolution blocks, global pooling head"),
        ArchitectureSpec(name="cnn1d", build=build_cnn1d, tasks=SUPERVISED, input_kinds=("sequence",),
                         space=cnn_space([3, 5, 7]), description="1-D convolution blocks over time, global pooling head"),
    ]
