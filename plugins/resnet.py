"""A small ResNet for images of 8 to 64 pixels ``(C, H, W)``: the CIFAR variant of He, Zhang, Ren
and Sun, *Deep Residual Learning for Image Recognition* (CVPR 2016, section 4.2), sized for
small inputs.

A 3×3 stem convolution (stride 2 only for images of 48 px and more, so a 64 px image starts at
32), then ``stages`` stages of ``blocks`` basic blocks (two 3×3 convolutions with batch norm and
an identity or 1×1-projection shortcut). Each stage after the first doubles the channels and
halves the map with a strided convolution while the map is still 4 px or larger, so an 8×8
digit goes 8 → 4 → 2. Global average pooling and a linear head end it. ``zero_init_residual``
(off by default, as in torchvision) starts every block's last batch norm at zero (Goyal et al.
2017), so each block starts as its shortcut; it helps deep ResNets, while at these depths it
only slows the first epochs, which ASHA judges trials by.

The space (``search_spaces/image.yaml``) pairs it with shift augmentation (``image_augment``)
and a cosine or one-cycle learning-rate schedule (the built-in optimizers' ``schedule``).
"""

from __future__ import annotations

import torch
from torch import nn

from automl import hookimpl
from automl.components import ArchitectureSpec

SUPERVISED = ("binary", "multiclass", "regression")
STEM_STRIDE_FROM = 48  # px: larger images start with a strided stem


class BasicBlock(nn.Module):
    """conv3×3 → BN → ReLU → conv3×3 → BN (+ shortcut) → ReLU."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, zero_init_residual: bool = False) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.norm1 = nn.BatchNorm2d(out_channels)
        self.act1 = nn.ReLU()
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.norm2 = nn.BatchNorm2d(out_channels)
        if zero_init_residual:
            nn.init.zeros_(self.norm2.weight)  # the block starts as its shortcut
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(out_channels))
        self.act2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.norm2(self.conv2(self.act1(self.norm1(self.conv1(x)))))
        return self.act2(out + self.shortcut(x))


class ResNet(nn.Module):
    """Stem, residual stages, global average pooling, linear head."""

    def __init__(self, input_shape, output_size: int, stages: int = 3, blocks: int = 2, channels: int = 32,
                 zero_init_residual: bool = False) -> None:
        super().__init__()
        in_channels, height, width = input_shape
        size = min(height, width)
        stride = 2 if size >= STEM_STRIDE_FROM else 1
        self.stem = nn.Sequential(nn.Conv2d(in_channels, channels, 3, stride=stride, padding=1, bias=False),
                                  nn.BatchNorm2d(channels), nn.ReLU())
        size = (size + stride - 1) // stride
        layers: list[nn.Module] = []
        current = channels
        for stage in range(stages):
            out_channels = channels * 2**stage
            for block in range(blocks):
                downsample = stage > 0 and block == 0 and size >= 4
                layers.append(BasicBlock(current, out_channels, 2 if downsample else 1, zero_init_residual))
                if downsample:
                    size = (size + 1) // 2
                current = out_channels
        self.stages = nn.Sequential(*layers)
        self.head = nn.Linear(current, output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)).mean(dim=(2, 3)))


@hookimpl
def automl_architectures():
    return [
        ArchitectureSpec(
            name="resnet",
            build=ResNet,
            tasks=SUPERVISED,
            input_kinds=("image",),
            space={
                "stages": {"choice": [2, 3]},
                "blocks": {"choice": [1, 2]},
                "channels": {"choice": [16, 32, 64]},
            },
            description="small ResNet (He et al. 2016, CIFAR variant) for 8-64 px images: basic blocks, global pooling",
        )
    ]
