"""The reference deep time-series classifiers of the UCR/UEA literature, for sequences ``(T, F)``.

- ``fcn`` and ``resnet1d``: Z. Wang, W. Yan, T. Oates, "Time Series Classification from Scratch
  with Deep Neural Networks: A Strong Baseline", IJCNN 2017. FCN is three convolution blocks
  (128, 256, 128 filters; kernels 8, 5, 3; batch norm, ReLU) and global average pooling;
  ResNet stacks three residual blocks of that shape (64, 128, 128 filters).
- ``inception_time``: H. Ismail Fawaz et al., "InceptionTime: Finding AlexNet for Time Series
  Classification", Data Mining and Knowledge Discovery 34, 2020. Six Inception modules (a
  32-channel bottleneck, convolutions of kernels 40, 20, 10 and a max-pool branch, 32 filters
  each), a residual connection every three modules, global average pooling. The paper's
  InceptionTime is an ensemble of five such networks; here one network is one trial, and an
  ensemble of the best trials is ``--ensemble 5``.

Each builder's defaults are the published architecture. The training settings the papers
(and the review of H. Ismail Fawaz et al., "Deep learning for time series classification: a
review", DMKD 2019) used are in :data:`PUBLISHED_DEFAULTS`, ready to serve as portfolio
entries: Adam at learning rate 1e-3, batch 16 (FCN) or 64 (ResNet, InceptionTime), and many
epochs (2000, 1500) that our budget shortens. Kernels are odd (the papers' even kernels 8 and
40 become 7 and 39) so that same padding keeps the length exactly, as Keras' ``same`` does.
Input features are the convolution channels, so a multivariate series works as it is. The
augmentations that suit these networks are ``sequence_augment`` (jitter, scaling) and
``window_warp`` (window slicing and warping) in ``plugins/augmentation.py``.
"""

from __future__ import annotations

import torch
from torch import nn

from automl import hookimpl
from automl.components import ArchitectureSpec

SUPERVISED = ("binary", "multiclass", "regression")


def conv_bn(in_channels: int, out_channels: int, kernel_size: int, relu: bool = True) -> nn.Sequential:
    """Same-padded 1-D convolution → batch norm [→ ReLU], the unit of FCN and ResNet."""
    layers: list[nn.Module] = [
        nn.Conv1d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False),
        nn.BatchNorm1d(out_channels),
    ]
    if relu:
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class GlobalAveragePoolHead(nn.Module):
    """Mean over time, then one linear layer: the head of all three networks."""

    def __init__(self, channels: int, output_size: int) -> None:
        super().__init__()
        self.head = nn.Linear(channels, output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x.mean(dim=2))


class FCN(nn.Module):
    """Wang et al. 2017's fully convolutional network: three conv blocks, global average pooling."""

    def __init__(self, features: int, output_size: int, filters: int = 128, kernel_sizes: tuple = (7, 5, 3)) -> None:
        super().__init__()
        widths = (filters, 2 * filters, filters)
        channels = (features, *widths)
        self.features = nn.Sequential(*[conv_bn(channels[i], channels[i + 1], k) for i, k in enumerate(kernel_sizes)])
        self.head = GlobalAveragePoolHead(widths[-1], output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x.transpose(1, 2)))  # (N, T, F) → (N, F, T)


class ResidualBlock(nn.Module):
    """Three conv blocks (kernels 7, 5, 3); the input, projected by a 1×1 conv and batch norm
    where the width changes (batch norm alone where it does not), is added before the last ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel_sizes: tuple = (7, 5, 3)) -> None:
        super().__init__()
        self.body = nn.Sequential(
            conv_bn(in_channels, out_channels, kernel_sizes[0]),
            conv_bn(out_channels, out_channels, kernel_sizes[1]),
            conv_bn(out_channels, out_channels, kernel_sizes[2], relu=False),
        )
        if in_channels != out_channels:
            self.shortcut = nn.Sequential(nn.Conv1d(in_channels, out_channels, 1, bias=False), nn.BatchNorm1d(out_channels))
        else:
            self.shortcut = nn.Sequential(nn.BatchNorm1d(out_channels))
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.shortcut(x))


class ResNet1D(nn.Module):
    """Wang et al. 2017's ResNet: three residual blocks of ``filters``, ``2·filters``, ``2·filters``."""

    def __init__(self, features: int, output_size: int, filters: int = 64, blocks: int = 3) -> None:
        super().__init__()
        widths = [filters] + [2 * filters] * (blocks - 1)
        layers, channels = [], features
        for width in widths:
            layers.append(ResidualBlock(channels, width))
            channels = width
        self.features = nn.Sequential(*layers)
        self.head = GlobalAveragePoolHead(channels, output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x.transpose(1, 2)))


class InceptionModule(nn.Module):
    """A bottleneck to ``bottleneck`` channels (skipped for a one-channel input), three
    convolutions of decreasing kernels and a max-pool → 1×1 branch, concatenated
    (``4·filters`` channels), batch norm, ReLU."""

    def __init__(self, in_channels: int, filters: int, kernel_size: int, bottleneck: int) -> None:
        super().__init__()
        use_bottleneck = bottleneck > 0 and in_channels > 1
        self.bottleneck = nn.Conv1d(in_channels, bottleneck, 1, bias=False) if use_bottleneck else nn.Identity()
        width = bottleneck if use_bottleneck else in_channels
        kernels = [max(1, kernel_size // 2**i) for i in range(3)]
        kernels = [k if k % 2 else k - 1 for k in kernels]  # odd: same padding keeps the length
        self.convs = nn.ModuleList([nn.Conv1d(width, filters, k, padding=k // 2, bias=False) for k in kernels])
        self.pool = nn.Sequential(nn.MaxPool1d(3, stride=1, padding=1), nn.Conv1d(in_channels, filters, 1, bias=False))
        self.out = nn.Sequential(nn.BatchNorm1d(4 * filters), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        squeezed = self.bottleneck(x)
        branches = [conv(squeezed) for conv in self.convs]
        branches.append(self.pool(x))
        return self.out(torch.cat(branches, dim=1))


class InceptionBlock(nn.Module):
    """Up to three Inception modules; with ``residual``, the block's input (1×1 conv + batch
    norm) is added to their output before a ReLU."""

    def __init__(self, in_channels: int, filters: int, kernel_size: int, bottleneck: int, modules: int,
                 residual: bool) -> None:
        super().__init__()
        channels = [in_channels] + [4 * filters] * modules
        self.body = nn.Sequential(*[InceptionModule(channels[i], filters, kernel_size, bottleneck) for i in range(modules)])
        self.residual = residual
        self.shortcut = (nn.Sequential(nn.Conv1d(in_channels, 4 * filters, 1, bias=False), nn.BatchNorm1d(4 * filters))
                         if residual else nn.Identity())
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        if self.residual:
            out = self.relu(out + self.shortcut(x))
        return out


class InceptionTime(nn.Module):
    """Ismail Fawaz et al. 2020's Inception network: ``depth`` Inception modules with a
    residual connection around every three, global average pooling."""

    def __init__(self, features: int, output_size: int, filters: int = 32, depth: int = 6, kernel_size: int = 40,
                 bottleneck: int = 32, residual: bool = True) -> None:
        super().__init__()
        blocks, channels = [], features
        for start in range(0, depth, 3):
            blocks.append(InceptionBlock(channels, filters, kernel_size, bottleneck, min(3, depth - start), residual))
            channels = 4 * filters
        self.features = nn.Sequential(*blocks)
        self.head = GlobalAveragePoolHead(channels, output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x.transpose(1, 2)))


def build_fcn(input_shape, output_size, filters: int = 128) -> FCN:
    """FCN (Wang et al. 2017) for ``(T, F)`` sequences; ``filters`` = 128 is the published width."""
    return FCN(input_shape[1], output_size, filters)


def build_resnet1d(input_shape, output_size, filters: int = 64, blocks: int = 3) -> ResNet1D:
    """ResNet (Wang et al. 2017) for ``(T, F)`` sequences; 64 filters, 3 blocks as published."""
    return ResNet1D(input_shape[1], output_size, filters, blocks)


def build_inception_time(input_shape, output_size, filters: int = 32, depth: int = 6, kernel_size: int = 40,
                         bottleneck: int = 32, residual: bool = True) -> InceptionTime:
    """One InceptionTime network (Ismail Fawaz et al. 2020) for ``(T, F)``; defaults as published."""
    return InceptionTime(input_shape[1], output_size, filters, depth, kernel_size, bottleneck, residual)


# The published architecture with the published training settings, as whole trial configs
# (the schema of automl/space/__init__.py); epochs shortened from the papers' 1500-2000.
PUBLISHED_DEFAULTS = {
    "fcn": {"batch_size": 16, "architecture": {"name": "fcn", "filters": 128},
            "optimizer": {"name": "adam", "lr": 1e-3, "schedule": "constant"}},
    "resnet1d": {"batch_size": 64, "architecture": {"name": "resnet1d", "filters": 64, "blocks": 3},
                 "optimizer": {"name": "adam", "lr": 1e-3, "schedule": "constant"}},
    "inception_time": {"batch_size": 64, "architecture": {"name": "inception_time", "filters": 32, "depth": 6,
                                                          "kernel_size": 40, "bottleneck": 32, "residual": True},
                       "optimizer": {"name": "adam", "lr": 1e-3, "schedule": "constant"}},
}


@hookimpl
def automl_architectures():
    return [
        ArchitectureSpec(name="fcn", build=build_fcn, tasks=SUPERVISED, input_kinds=("sequence",),
                         space={"filters": {"choice": [64, 128]}},
                         description="FCN for time series (Wang et al. 2017): 3 conv blocks, global average pooling"),
        ArchitectureSpec(name="resnet1d", build=build_resnet1d, tasks=SUPERVISED, input_kinds=("sequence",),
                         space={"filters": {"choice": [32, 64]}, "blocks": {"choice": [2, 3]}},
                         description="ResNet for time series (Wang et al. 2017): 3 residual conv blocks"),
        ArchitectureSpec(name="inception_time", build=build_inception_time, tasks=SUPERVISED, input_kinds=("sequence",),
                         space={"filters": {"choice": [16, 32]}, "depth": {"choice": [3, 6]},
                                "kernel_size": {"choice": [20, 40]}, "bottleneck": 32, "residual": True},
                         description="InceptionTime network (Ismail Fawaz et al. 2020): Inception modules, residuals"),
    ]
