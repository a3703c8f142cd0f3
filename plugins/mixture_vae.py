"""A variational autoencoder with a Gaussian-mixture prior for the ``generate`` task, after VaDE
(Jiang et al., 2017, "Variational Deep Embedding") and the GMVAE of Dilokthanakul et al. (2016):
small tables are often a few modes, which one standard Gaussian prior (the adversarial
autoencoder's, the GAN's noise) spreads thinly between.

The model: a mixture prior ``p(z) = sum_k pi_k N(mu_k, diag sigma_k^2)`` over ``latent``
dimensions (weights, means and scales learned), a decoder to the mean of a Gaussian over the
prepared row with one learned scale per feature, and a Gaussian encoder ``q(z | x)``. It is
trained on the negative evidence lower bound (ELBO) with one reparameterized sample per row; the
KL term ``log q(z|x) - log p(z)`` is estimated at that sample, since a mixture prior has no
closed form. Sampling draws one of the Gaussians, a code from it, then a row *with* its decoder noise:
decoder means alone lie on a ``latent``-dimensional sheet that a classifier tells from real
rows at once. ``decoder_depth: 0`` makes the decoder linear: a mixture of factor analysers
(Ghahramani and Hinton, 1996).

Contract (``automl/tasks/generate.py``, the likelihood form): ``generative_loss(x, noise)`` →
a scalar to minimize and ``sample(n, noise)`` → ``(n, *input_shape)`` rows; it has no
discriminator, so one optimizer trains every parameter and the adversarial loss is unused.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from automl import hookimpl
from automl.components import ArchitectureSpec
from automl_plugins.autoencoder import DenseDecoder, DenseEncoder

LOG_2PI = math.log(2 * math.pi)


def gaussian_log_prob(x: torch.Tensor, mean: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    """Log density of a diagonal Gaussian, summed over the last axis."""
    return (-0.5 * ((x - mean) * torch.exp(-log_scale)) ** 2 - log_scale - 0.5 * LOG_2PI).sum(-1)


class MixtureVAE(nn.Module):
    """Encoder ``x -> (mean, log scale)`` of ``q(z|x)``, decoder ``z ->`` row mean, mixture prior."""

    def __init__(self, input_shape, latent=4, mixtures=5, width=64, depth=1, decoder_depth=1, activation="relu"):
        super().__init__()
        self.input_shape, self.latent = tuple(input_shape), latent
        width_in = math.prod(input_shape)
        self.encoder = DenseEncoder(input_shape, 2 * latent, width, depth, activation)
        self.decoder = DenseDecoder(latent, (width_in,), width, decoder_depth, activation)
        self.row_log_scale = nn.Parameter(torch.full((width_in,), -1.0))
        self.prior_logits = nn.Parameter(torch.zeros(mixtures))
        # Spread means, so the Gaussians start apart and the encoder can assign rows to them.
        self.prior_means = nn.Parameter(torch.randn(mixtures, latent))
        self.prior_log_scales = nn.Parameter(torch.zeros(mixtures, latent))

    def prior_log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """``log p(z)`` under the mixture prior, per row."""
        per_gaussian = gaussian_log_prob(z[:, None, :], self.prior_means, self.prior_log_scales)
        return torch.logsumexp(torch.log_softmax(self.prior_logits, 0) + per_gaussian, dim=1)

    def generative_loss(self, x: torch.Tensor, noise: torch.Generator | None = None) -> torch.Tensor:
        """The negative ELBO per row and per feature (a scale the learning rates suit)."""
        rows = x.flatten(1)
        mean, log_scale = self.encoder(x).chunk(2, dim=1)
        log_scale = log_scale.clamp(-8.0, 4.0)
        z = mean + torch.exp(log_scale) * torch.randn(mean.shape, generator=noise).to(mean.device)
        row_log_scale = self.row_log_scale.clamp(-6.0, 3.0)
        log_px = gaussian_log_prob(rows, self.decoder(z), row_log_scale)
        kl = gaussian_log_prob(z, mean, log_scale) - self.prior_log_prob(z)
        return (kl - log_px).mean() / rows.shape[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The decoded posterior mean of each row (a reconstruction)."""
        mean, _ = self.encoder(x).chunk(2, dim=1)
        return self.decoder(mean).reshape(len(x), *self.input_shape)

    def sample(self, n: int, noise: torch.Generator | None = None) -> torch.Tensor:
        device = self.prior_means.device
        weights = torch.softmax(self.prior_logits.detach().float().cpu(), 0)
        gaussian = torch.multinomial(weights, n, replacement=True, generator=noise).to(device)
        z = self.prior_means[gaussian] + torch.exp(self.prior_log_scales[gaussian]) * torch.randn(
            n, self.latent, generator=noise).to(device)
        row_noise = torch.randn(n, self.row_log_scale.shape[0], generator=noise).to(device)
        rows = self.decoder(z) + torch.exp(self.row_log_scale.clamp(-6.0, 3.0)) * row_noise
        return rows.reshape(n, *self.input_shape)


def build_mixture_vae(input_shape, output_size=0, latent=4, mixtures=5, width=64, depth=1, decoder_depth=1,
                      activation="relu") -> MixtureVAE:
    """VAE with a prior of ``mixtures`` Gaussians over ``latent`` dimensions."""
    return MixtureVAE(input_shape, latent, mixtures, width, depth, decoder_depth, activation)


@hookimpl
def automl_architectures():
    return [
        ArchitectureSpec(
            name="mixture_vae",
            build=build_mixture_vae,
            tasks=("generate",),
            input_kinds=("tabular",),
            space={
                "latent": {"choice": [2, 4, 8]},
                "mixtures": {"choice": [3, 5, 10]},
                "width": {"choice": [64, 128]},
                "depth": {"choice": [1, 2]},
                "decoder_depth": {"choice": [0, 1, 2]},
                "activation": {"choice": ["relu", "gelu"]},
            },
            description="VAE with a Gaussian-mixture prior (VaDE); trained on the ELBO, samples with decoder noise",
        ),
    ]
