"""Losses of the unsupervised tasks: reconstruction losses for autoencoders (``cluster``) and
adversarial losses for generators (``generate``).

A reconstruction loss is ``loss(reconstruction, inputs) -> scalar``. An adversarial loss is an
object with ``discriminator_loss(real_scores, fake_scores)`` and ``generator_loss(fake_scores)``,
both on the discriminator's raw ``(N, 1)`` scores.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from automl import hookimpl
from automl.components import LossSpec


class BCEAdversarial:
    """The original GAN loss on logits, with the non-saturating generator loss (Goodfellow et
    al., 2014) and optional one-sided label smoothing of the real rows' targets."""

    def __init__(self, label_smoothing: float = 0.0):
        self.real_target = 1.0 - label_smoothing

    def discriminator_loss(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
        real = F.binary_cross_entropy_with_logits(real_scores, torch.full_like(real_scores, self.real_target))
        fake = F.binary_cross_entropy_with_logits(fake_scores, torch.zeros_like(fake_scores))
        return real + fake

    def generator_loss(self, fake_scores: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(fake_scores, torch.ones_like(fake_scores))


class HingeAdversarial:
    """The hinge loss (Lim & Ye, 2017; used by SAGAN and BigGAN): the discriminator wants real
    scores above ``margin`` and generated ones below ``-margin``; the generator raises its scores."""

    def __init__(self, margin: float = 1.0):
        self.margin = margin

    def discriminator_loss(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
        return F.relu(self.margin - real_scores).mean() + F.relu(self.margin + fake_scores).mean()

    def generator_loss(self, fake_scores: torch.Tensor) -> torch.Tensor:
        return -fake_scores.mean()


@hookimpl
def automl_losses():
    return [
        LossSpec(
            name="reconstruction_mse",
            build=lambda: nn.MSELoss(),
            tasks=("cluster",),
            description="mean squared reconstruction error",
        ),
        LossSpec(
            name="reconstruction_huber",
            build=lambda delta=1.0: nn.HuberLoss(delta=delta),
            tasks=("cluster",),
            space={"delta": {"choice": [0.5, 1.0]}},
            description="Huber reconstruction error (robust to outlying values)",
        ),
        LossSpec(
            name="adversarial_bce",
            build=BCEAdversarial,
            tasks=("generate",),
            space={"label_smoothing": {"choice": [0.0, 0.1]}},
            description="GAN binary cross-entropy, non-saturating generator loss",
        ),
        LossSpec(
            name="adversarial_hinge",
            build=HingeAdversarial,
            tasks=("generate",),
            description="GAN hinge loss",
        ),
    ]
