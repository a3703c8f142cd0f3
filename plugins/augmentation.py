"""Built-in augmentation: batch transforms applied to training batches only (never to
validation, test or prediction data), each offered only for the input kind it fits.

- images ``(N, C, H, W)``: random shifts (zero-filled) and horizontal flips;
- sequences ``(N, T, F)``: jitter (additive noise) and scaling (one factor per series); window
  slicing and window warping (Le Guennec et al. 2016), the augmentations that helped the deep
  time-series classifiers most in Iwana & Uchida's survey (PLoS ONE 2021);
- tabular ``(N, F)``: Gaussian noise, and mixup, which blends pairs of rows *and* their
  targets: class indices become class probabilities ``(N, C)`` (which the built-in
  classification losses accept), regression targets are blended linearly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from automl import hookimpl
from automl.components import Regularizer, RegularizerSpec

SUPERVISED = ("binary", "multiclass", "regression")


class ImageShiftFlip(Regularizer):
    """Shifts each image by up to ``shift`` pixels per axis; flips it left-right with ``flip_p``."""

    def __init__(self, shift: int = 1, flip_p: float = 0.0):
        self.shift, self.flip_p = int(shift), float(flip_p)

    def transform_batch(self, inputs, targets):
        n, _, height, width = inputs.shape
        out = inputs
        if self.shift > 0:
            s = self.shift
            padded = F.pad(inputs, (s, s, s, s))
            dy = torch.randint(0, 2 * s + 1, (n,), device=inputs.device)
            dx = torch.randint(0, 2 * s + 1, (n,), device=inputs.device)
            rows = (torch.arange(height, device=inputs.device) + dy[:, None])[:, :, None]
            cols = (torch.arange(width, device=inputs.device) + dx[:, None])[:, None, :]
            out = padded[torch.arange(n, device=inputs.device)[:, None, None], :, rows, cols].permute(0, 3, 1, 2)
        if self.flip_p > 0:
            flip = torch.rand(n, device=inputs.device) < self.flip_p
            out = torch.where(flip[:, None, None, None], out.flip(-1), out)
        return out, targets


class SequenceJitterScale(Regularizer):
    """Adds N(0, ``jitter``²) noise per value and multiplies each series by N(1, ``scaling``²)."""

    def __init__(self, jitter: float = 0.03, scaling: float = 0.1):
        self.jitter, self.scaling = float(jitter), float(scaling)

    def transform_batch(self, inputs, targets):
        factor = 1 + self.scaling * torch.randn(len(inputs), 1, inputs.shape[2], device=inputs.device)
        return inputs * factor + self.jitter * torch.randn_like(inputs), targets


class SequenceWindowWarp(Regularizer):
    """Window slicing and window warping (Le Guennec, Malinowski, Tavenard, "Data Augmentation
    for Time Series Classification using Convolutional Neural Networks", ECML/PKDD AALTD 2016).

    Slicing keeps a random window of ``1 - slice_ratio`` of each series and stretches it back to
    the full length; warping speeds up (×2) or slows down (×0.5) a random window of
    ``warp_ratio`` of the length, then resamples the series to its length. Each series draws
    its own window; values between time steps are interpolated linearly.
    """

    def __init__(self, slice_ratio: float = 0.1, warp_ratio: float = 0.1):
        self.slice_ratio, self.warp_ratio = float(slice_ratio), float(warp_ratio)

    def transform_batch(self, inputs, targets):
        n, steps, _ = inputs.shape
        if steps < 4:
            return inputs, targets
        grid = torch.linspace(0, 1, steps, device=inputs.device).expand(n, steps)
        positions = grid * (steps - 1)  # where in the input each output step reads
        if self.warp_ratio > 0:
            width = max(1.0, self.warp_ratio * (steps - 1))
            start = torch.rand(n, 1, device=inputs.device) * (steps - 1 - width)
            speed = torch.where(torch.rand(n, 1, device=inputs.device) < 0.5, 0.5, 2.0)
            warped_length = (steps - 1) + (speed - 1) * width  # the window lasts speed × width
            out = grid * warped_length  # positions on the warped time axis
            inside = torch.minimum((out - start).clamp(min=0), speed * width)
            positions = out - inside * (1 - 1 / speed)  # inside the window time runs at 1/speed
        if self.slice_ratio > 0:
            kept = (1 - self.slice_ratio) * (steps - 1)
            offset = torch.rand(n, 1, device=inputs.device) * (steps - 1 - kept)
            positions = offset + positions * (kept / (steps - 1))
        return _resample(inputs, positions.clamp(0, steps - 1)), targets


def _resample(inputs: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """``inputs (N, T, F)`` read at fractional time ``positions (N, T')``, linearly interpolated."""
    low = positions.floor().long().clamp(max=inputs.shape[1] - 1)
    high = (low + 1).clamp(max=inputs.shape[1] - 1)
    weight = (positions - low.to(positions.dtype)).unsqueeze(-1)
    index = lambda i: i.unsqueeze(-1).expand(-1, -1, inputs.shape[2])  # noqa: E731
    return torch.gather(inputs, 1, index(low)) * (1 - weight) + torch.gather(inputs, 1, index(high)) * weight


class GaussianNoise(Regularizer):
    """Adds N(0, ``sigma``²) noise to every (standardized) feature."""

    def __init__(self, sigma: float = 0.1):
        self.sigma = float(sigma)

    def transform_batch(self, inputs, targets):
        return inputs + self.sigma * torch.randn_like(inputs), targets


class Mixup(Regularizer):
    """Mixup (Zhang et al., 2018): ``λ·x_i + (1-λ)·x_j`` with λ ~ Beta(alpha, alpha), the same
    blend for the targets. The platform passes ``task`` and ``output_size`` so class indices
    can become one-hot rows before blending."""

    def __init__(self, alpha: float = 0.2, task: str = "regression", output_size: int = 1):
        self.alpha, self.task, self.output_size = float(alpha), task, int(output_size)

    def transform_batch(self, inputs, targets):
        lam = float(torch.distributions.Beta(self.alpha, self.alpha).sample())
        partner = torch.randperm(len(inputs), device=inputs.device)
        if self.task in ("binary", "multiclass") and not targets.is_floating_point():
            targets = F.one_hot(targets, self.output_size).to(inputs.dtype)
        return lam * inputs + (1 - lam) * inputs[partner], lam * targets + (1 - lam) * targets[partner]


@hookimpl
def automl_regularizers():
    return [
        RegularizerSpec(name="image_augment", build=ImageShiftFlip, tasks=SUPERVISED, input_kinds=("image",),
                        space={"shift": {"choice": [1, 2]}, "flip_p": {"choice": [0.0, 0.5]}},
                        description="random image shifts and horizontal flips"),
        RegularizerSpec(name="sequence_augment", build=SequenceJitterScale, tasks=SUPERVISED,
                        input_kinds=("sequence",),
                        space={"jitter": {"choice": [0.01, 0.03, 0.1]}, "scaling": {"choice": [0.0, 0.1, 0.2]}},
                        description="jitter and scaling of numeric series"),
        RegularizerSpec(name="window_warp", build=SequenceWindowWarp, tasks=SUPERVISED, input_kinds=("sequence",),
                        space={"slice_ratio": {"choice": [0.0, 0.1, 0.2]}, "warp_ratio": {"choice": [0.0, 0.1, 0.2]}},
                        description="window slicing and window warping of series (Le Guennec et al. 2016)"),
        RegularizerSpec(name="gaussian_noise", build=GaussianNoise, tasks=SUPERVISED, input_kinds=("tabular",),
                        space={"sigma": {"loguniform": [0.01, 0.3]}},
                        description="Gaussian noise on tabular features"),
        RegularizerSpec(name="mixup", build=Mixup, tasks=SUPERVISED, input_kinds=("tabular",),
                        space={"alpha": {"choice": [0.1, 0.2, 0.4]}},
                        description="mixup of tabular rows and their targets (soft class targets)"),
    ]
