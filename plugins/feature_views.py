"""Fixed views of the prepared features as ``cluster`` embeddings: the features themselves and
their principal components (Pearson, 1901; Hotelling, 1933).

They compete with the autoencoders in the same search, ranked by the same validation
silhouette, so that a search that tries them cannot end worse than KMeans on the features or on
a PCA projection of them does by that measure (on wine the autoencoders' best silhouette chose
k=2 where KMeans on the standardized features finds the three cultivars).

Neither view learns by gradient. ``features`` is the identity. ``pca`` fits its axes the
way batch normalization fits its statistics: in training mode every batch adds to running sums
(buffers, so the saved weights carry them), and the projection is the top ``dimensions``
eigenvectors of the covariance of every row seen so far. The one training loop visits each
training row once per epoch, so the fitted axes are exactly those of the training rows
(and of train+val in the refit). Each view keeps one parameter that enters the reconstruction
times zero: its gradient is zero (no optimizer moves it, weight decay or not, and it changes no
output), yet the optimizer built for every trial has something to hold and the loss stays
differentiable for the one training loop.

Contract (``automl/tasks/cluster.py``): ``encode(x) -> (N, latent)`` and ``forward(x)`` → the
reconstruction of ``x``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from automl import hookimpl
from automl.components import ArchitectureSpec


class FeatureView(nn.Module):
    """The prepared features, flattened, as the embedding; the reconstruction is exact."""

    def __init__(self, input_shape):
        super().__init__()
        self.latent = math.prod(input_shape)
        self.anchor = nn.Parameter(torch.zeros(()))  # see the module docstring

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 0.0 * self.anchor


class PCAView(nn.Module):
    """Projection onto the top ``dimensions`` principal axes of the rows seen in training."""

    def __init__(self, input_shape, dimensions: int):
        super().__init__()
        width = math.prod(input_shape)
        self.latent = min(dimensions, width)
        self.anchor = nn.Parameter(torch.zeros(()))
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))
        self.register_buffer("total", torch.zeros(width, dtype=torch.float64))
        self.register_buffer("outer", torch.zeros(width, width, dtype=torch.float64))
        self._fitted: tuple[float, torch.Tensor, torch.Tensor] | None = None  # (count, mean, axes)

    @torch.no_grad()
    def _observe(self, flat: torch.Tensor) -> None:
        rows = flat.detach().double()
        self.count += len(rows)
        self.total += rows.sum(0)
        self.outer += rows.T @ rows

    @torch.no_grad()
    def projection(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mean, axes)``: the mean row and the ``(latent, width)`` principal axes."""
        count = float(self.count)
        if self._fitted is not None and self._fitted[0] == count and self._fitted[1].device == self.total.device:
            return self._fitted[1], self._fitted[2]
        width = self.total.shape[0]
        if count < 2:  # nothing seen yet: the first coordinates
            mean = torch.zeros(width, dtype=torch.float64, device=self.total.device)
            axes = torch.eye(width, dtype=torch.float64, device=self.total.device)[: self.latent]
        else:
            mean = self.total / count
            covariance = self.outer / count - torch.outer(mean, mean)
            _, vectors = torch.linalg.eigh(covariance)  # ascending eigenvalues
            axes = vectors.flip(1)[:, : self.latent].T
        self._fitted = (count, mean.float(), axes.float().contiguous())
        return self._fitted[1], self._fitted[2]

    def _codes(self, flat: torch.Tensor) -> torch.Tensor:
        if self.training:
            self._observe(flat)
        mean, axes = self.projection()
        return (flat - mean) @ axes.T

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self._codes(x.flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        codes = self._codes(x.flatten(1))
        mean, axes = self.projection()
        return (codes @ axes + mean).reshape(x.shape) + 0.0 * self.anchor


def build_features(input_shape, output_size=0) -> FeatureView:
    """The prepared features themselves (standardized numbers, one-hot blocks)."""
    return FeatureView(input_shape)


def build_pca(input_shape, output_size=0, dimensions=2) -> PCAView:
    """The top ``dimensions`` principal components of the prepared features."""
    return PCAView(input_shape, dimensions)


@hookimpl
def automl_architectures():
    return [
        ArchitectureSpec(
            name="features",
            build=build_features,
            tasks=("cluster",),
            input_kinds=("tabular", "image"),
            space={},
            description="the prepared features themselves as the embedding (KMeans on the features)",
        ),
        ArchitectureSpec(
            name="pca",
            build=build_pca,
            tasks=("cluster",),
            # Tables only: an image's pixel covariance (C*H*W squared) is too large to decompose per batch.
            input_kinds=("tabular",),
            space={"dimensions": {"choice": [2, 3, 5, 10]}},
            description="principal components of the prepared features, fitted on the training rows",
        ),
    ]
