"""Autoencoders: a dense one for tabular rows and a convolutional one for images (for the
``cluster`` task: their embeddings are clustered), and an adversarial autoencoder (for the
``generate`` task: its decoder turns samples of a Gaussian prior into new rows).

Contracts (``automl/tasks/cluster.py``): an autoencoder has ``encode(x) -> (N, latent)``
and ``forward(x) -> reconstruction of x``; a generator has a ``discriminator``,
``generator_parameters()``, ``adversarial_pair(x, noise)`` and ``sample(n, noise)``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from automl import hookimpl
from automl.components import ArchitectureSpec

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "leaky_relu": lambda: nn.LeakyReLU(0.2), "tanh": nn.Tanh}


def dense_stack(sizes: list[int], activation: str) -> nn.Sequential:
    """Linear layers through ``sizes`` with an activation between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (inputs, outputs) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(inputs, outputs))
        if i < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


class DenseEncoder(nn.Module):
    """Flatten, then ``depth`` hidden layers of ``width`` down to ``out_size`` values."""

    def __init__(self, input_shape, out_size: int, width: int = 64, depth: int = 2, activation: str = "relu"):
        super().__init__()
        self.layers = nn.Sequential(nn.Flatten(), dense_stack([math.prod(input_shape), *[width] * depth, out_size], activation))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class DenseDecoder(nn.Module):
    """``in_size`` values up through ``depth`` hidden layers to one row of ``output_shape``."""

    def __init__(self, in_size: int, output_shape, width: int = 64, depth: int = 2, activation: str = "relu"):
        super().__init__()
        self.output_shape = tuple(output_shape)
        self.layers = dense_stack([in_size, *[width] * depth, math.prod(output_shape)], activation)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.layers(z).reshape(len(z), *self.output_shape)


class ConvEncoder(nn.Module):
    """Two stride-2 convolution blocks (any H, W), flattened into ``out_size`` values."""

    def __init__(self, input_shape, out_size: int, channels: int = 16, activation: str = "relu"):
        super().__init__()
        in_channels = input_shape[0]
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, channels, 3, stride=2, padding=1), ACTIVATIONS[activation](),
            nn.Conv2d(channels, 2 * channels, 3, stride=2, padding=1), ACTIVATIONS[activation](),
        )
        with torch.no_grad():
            self.feature_shape = tuple(self.features(torch.zeros(1, *input_shape)).shape[1:])
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(self.feature_shape), out_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class ConvDecoder(nn.Module):
    """The mirror of :class:`ConvEncoder`: a linear layer, then two upsample + convolution blocks
    back to ``output_shape`` (upsampling to exact sizes, so odd H, W work too)."""

    def __init__(self, in_size: int, output_shape, channels: int = 16, activation: str = "relu"):
        super().__init__()
        c, h, w = output_shape
        half, quarter = ((h + 1) // 2, (w + 1) // 2), ((h + 3) // 4, (w + 3) // 4)
        self.start_shape = (2 * channels, *quarter)
        self.project = nn.Sequential(nn.Linear(in_size, math.prod(self.start_shape)), ACTIVATIONS[activation]())
        self.layers = nn.Sequential(
            nn.Upsample(size=half), nn.Conv2d(2 * channels, channels, 3, padding=1), ACTIVATIONS[activation](),
            nn.Upsample(size=(h, w)), nn.Conv2d(channels, c, 3, padding=1),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.layers(self.project(z).reshape(len(z), *self.start_shape))


class Autoencoder(nn.Module):
    """An encoder to a ``latent``-sized embedding and a decoder back to the input."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, latent: int):
        super().__init__()
        self.encoder, self.decoder, self.latent = encoder, decoder, latent

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


class AdversarialAutoencoder(Autoencoder):
    """An autoencoder whose embeddings a discriminator pushes towards a standard Gaussian
    (Makhzani et al., 2015), so that decoding Gaussian noise yields new rows.

    The generator's side (encoder and decoder) minimizes the reconstruction error, weighted by
    ``reconstruction_weight``, plus the adversarial loss of its embeddings.
    """

    def __init__(self, encoder, decoder, latent: int, discriminator: nn.Module, reconstruction_weight: float = 1.0):
        super().__init__(encoder, decoder, latent)
        self.discriminator = discriminator
        self.reconstruction_weight = reconstruction_weight

    def generator_parameters(self):
        return [*self.encoder.parameters(), *self.decoder.parameters()]

    def adversarial_pair(self, x: torch.Tensor, noise: torch.Generator | None = None):
        """``(real, fake, extra generator loss)``: prior samples, embeddings, reconstruction error."""
        codes = self.encoder(x)
        prior = torch.randn(codes.shape, generator=noise).to(codes.device)
        reconstruction_error = nn.functional.mse_loss(self.decoder(codes), x)
        return prior, codes, self.reconstruction_weight * reconstruction_error

    def sample(self, n: int, noise: torch.Generator | None = None) -> torch.Tensor:
        device = next(self.decoder.parameters()).device
        return self.decoder(torch.randn(n, self.latent, generator=noise).to(device))


def build_autoencoder(input_shape, output_size=0, latent=8, width=64, depth=2, activation="relu") -> Autoencoder:
    """Dense autoencoder: ``depth`` layers of ``width`` each way around a ``latent`` embedding."""
    return Autoencoder(
        DenseEncoder(input_shape, latent, width, depth, activation),
        DenseDecoder(latent, input_shape, width, depth, activation),
        latent,
    )


def build_conv_autoencoder(input_shape, output_size=0, latent=8, channels=16, activation="relu") -> Autoencoder:
    """Convolutional autoencoder for ``(C, H, W)`` images."""
    return Autoencoder(
        ConvEncoder(input_shape, latent, channels, activation),
        ConvDecoder(latent, input_shape, channels, activation),
        latent,
    )


def build_adversarial_autoencoder(
    input_shape, output_size=0, latent=4, width=64, depth=2, activation="relu", reconstruction_weight=1.0
) -> AdversarialAutoencoder:
    """Dense adversarial autoencoder with a small dense discriminator on the embeddings."""
    return AdversarialAutoencoder(
        DenseEncoder(input_shape, latent, width, depth, activation),
        DenseDecoder(latent, input_shape, width, depth, activation),
        latent,
        discriminator=dense_stack([latent, width, width, 1], "leaky_relu"),
        reconstruction_weight=reconstruction_weight,
    )


@hookimpl
def automl_architectures():
    return [
        ArchitectureSpec(
            name="autoencoder",
            build=build_autoencoder,
            tasks=("cluster",),
            input_kinds=("tabular",),
            space={
                "latent": {"choice": [2, 4, 8]},
                "width": {"choice": [32, 64, 128]},
                "depth": {"choice": [1, 2]},
                "activation": {"choice": ["relu", "gelu"]},
            },
            description="dense autoencoder; its embeddings are clustered",
        ),
        ArchitectureSpec(
            name="conv_autoencoder",
            build=build_conv_autoencoder,
            tasks=("cluster",),
            input_kinds=("image",),
            space={
                "latent": {"choice": [4, 8, 16]},
                "channels": {"choice": [8, 16, 32]},
                "activation": {"choice": ["relu", "gelu"]},
            },
            description="convolutional autoencoder for images; its embeddings are clustered",
        ),
        ArchitectureSpec(
            name="adversarial_autoencoder",
            build=build_adversarial_autoencoder,
            tasks=("generate",),
            input_kinds=("tabular",),
            space={
                "latent": {"choice": [2, 4, 8]},
                "width": {"choice": [64, 128]},
                "depth": {"choice": [1, 2]},
                "activation": {"choice": ["relu", "gelu"]},
                "reconstruction_weight": {"choice": [1.0, 5.0]},
            },
            description="autoencoder with a Gaussian latent prior enforced adversarially; decodes noise into rows",
        ),
    ]
