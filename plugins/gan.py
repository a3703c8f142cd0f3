"""Generative adversarial networks for the ``generate`` task: a dense GAN for tabular rows and
a small convolutional GAN for images.

A generator maps Gaussian noise to a row (in the preprocessed space: standardized numbers and
one-hot blocks, turned back into the original columns by the platform); a discriminator scores
rows as real or generated. The platform trains them in alternation with two optimizers and an
adversarial loss (``automl/tasks/generate.py``); this module only builds them.
"""

from __future__ import annotations

import torch
from torch import nn

from automl import hookimpl
from automl.components import ArchitectureSpec
from automl_plugins.autoencoder import ConvDecoder, ConvEncoder, DenseDecoder, DenseEncoder


class GAN(nn.Module):
    """A generator from ``latent`` noise to rows and a discriminator from rows to one score."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module, latent: int):
        super().__init__()
        self.generator, self.discriminator, self.latent = generator, discriminator, latent

    def generator_parameters(self):
        return list(self.generator.parameters())

    def adversarial_pair(self, x: torch.Tensor, noise: torch.Generator | None = None):
        """``(real, fake, extra generator loss)``: the batch, as many generated rows, nothing extra."""
        return x, self.sample(len(x), noise), None

    def sample(self, n: int, noise: torch.Generator | None = None) -> torch.Tensor:
        device = next(self.generator.parameters()).device
        return self.generator(torch.randn(n, self.latent, generator=noise).to(device))


def build_gan(input_shape, output_size=0, latent=16, width=128, depth=2) -> GAN:
    """Dense GAN: generator and discriminator each ``depth`` hidden layers of ``width``."""
    return GAN(
        DenseDecoder(latent, input_shape, width, depth, "relu"),
        DenseEncoder(input_shape, 1, width, depth, "leaky_relu"),
        latent,
    )


def build_conv_gan(input_shape, output_size=0, latent=16, channels=16) -> GAN:
    """Convolutional GAN for small ``(C, H, W)`` images (two up/down-sampling blocks each way)."""
    return GAN(
        ConvDecoder(latent, input_shape, channels, "relu"),
        ConvEncoder(input_shape, 1, channels, "leaky_relu"),
        latent,
    )


@hookimpl
def automl_architectures():
    return [
        ArchitectureSpec(
            name="gan",
            build=build_gan,
            tasks=("generate",),
            input_kinds=("tabular",),
            space={
                "latent": {"choice": [8, 16, 32]},
                "width": {"choice": [64, 128, 256]},
                "depth": {"choice": [1, 2, 3]},
            },
            description="dense generator and discriminator for tabular rows",
        ),
        ArchitectureSpec(
            name="conv_gan",
            build=build_conv_gan,
            tasks=("generate",),
            input_kinds=("image",),
            space={
                "latent": {"choice": [16, 32]},
                "channels": {"choice": [16, 32]},
            },
            description="convolutional generator and discriminator for small images",
        ),
    ]
