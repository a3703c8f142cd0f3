"""RealMLP: an MLP with the "bag of tricks" of Holzmüller, Grinsztajn and Steinwart, *Better by
Default: Strong Pre-Tuned MLPs and Boosted Trees on Tabular Data* (NeurIPS 2024; reference code
in ``pytabkit``), for tabular rows ``(F,)``.

In the order data flows through it:

1. **Smooth clipping** ``x / sqrt(1 + (x/3)^2)`` of every prepared feature: outliers are pulled
   in smoothly, values near 0 pass almost unchanged. The paper applies it after a robust
   scaling (median, quantile range); here the platform's scaler does that step (the
   ``robust`` choice of the tabular space's ``preprocessing.scaler``), fitted on train only.
2. **Numeric embeddings** per feature (``embedding``):
   - ``pbld`` (the paper's default): ``[x, W_j cos(2π f_j x + b_j)]``, 16 frequencies
     ``f_j ~ N(0, sigma²)`` and a per-feature linear map to 3 values, plus ``x`` itself (4 values
     per feature);
   - ``plr`` (Gorishniy, Rubachev and Babenko, *On Embeddings for Numerical Features in Tabular
     Deep Learning*, NeurIPS 2022): ``ReLU(W_j [sin, cos](2π f_j x))`` with ``embedding_dim``
     values per feature;
   - ``none``: the clipped features as they are.
3. A learnable **front scale** per input value, with a 6× effective learning rate as in the
   paper (stored as ``6·s``, which scales Adam's step by 6).
4. ``depth`` blocks of Linear → **parametric activation** ``(1-α)·x + α·σ(x)`` (one learnable
   α per unit, starting at 1), SELU for classification and Mish for regression (``auto``).
5. A linear head.

Tuned defaults kept from the paper: three hidden layers of 256, PBLD embeddings with 16
frequencies of scale 0.1 (classification) / 0.15 (regression), the front scale and the
activations. Not reproduced, because they belong to other components or the core: the neural
tangent parametrization and per-layer learning-rate factors, the ``coslog4`` schedule (the
optimizers offer cosine and one-cycle), dropout 0.15 with a flat-cosine schedule (the platform's
``dropout`` regularizer, constant rate) and label smoothing 0.1 (``cross_entropy``'s
``label_smoothing``). Every prepared column, one-hot categories included, is embedded as a number.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from automl import hookimpl
from automl.components import ArchitectureSpec

SUPERVISED = ("binary", "multiclass", "regression")
CLIP_AT = 3.0
FRONT_SCALE_LR_FACTOR = 6.0
EMBEDDINGS = ("pbld", "plr", "none")
ACTIVATIONS = {"selu": nn.SELU, "mish": nn.Mish, "relu": nn.ReLU, "gelu": nn.GELU}


class SmoothClip(nn.Module):
    """``x / sqrt(1 + (x / 3)^2)``: nearly the identity near 0, tends to ±3 for outliers."""

    def __init__(self, limit: float = CLIP_AT) -> None:
        super().__init__()
        self.limit = limit  # an attribute: TorchScript reads no module globals

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x / torch.sqrt(1 + (x / self.limit) ** 2)


class PeriodicEmbedding(nn.Module):
    """Per-feature periodic embeddings of ``(N, F)`` numbers into ``(N, F * out_features)``.

    ``kind="pbld"``: ``[x, W cos(2π f x + b)]`` (``embedding_dim - 1`` linear outputs plus ``x``);
    ``kind="plr"``: ``ReLU(W [sin(2π f x), cos(2π f x)] + c)`` (``embedding_dim`` outputs).
    Frequencies start at ``N(0, sigma²)``. Parameter names avoid ``weight`` so the searched
    initialization scheme (which re-initializes every ``*weight*`` matrix) keeps this layer's
    own scales.
    """

    def __init__(self, features: int, kind: str = "pbld", frequencies: int = 16, embedding_dim: int = 4,
                 sigma: float = 0.1) -> None:
        super().__init__()
        if kind not in ("pbld", "plr"):
            raise ValueError(f"unknown embedding {kind!r}; use one of {', '.join(EMBEDDINGS)}")
        self.pbld = kind == "pbld"
        periodic = frequencies if self.pbld else 2 * frequencies
        outputs = embedding_dim - 1 if self.pbld else embedding_dim
        if outputs < 1:
            raise ValueError("a pbld embedding needs embedding_dim >= 2 (x itself plus one learned value)")
        self.frequencies = nn.Parameter(torch.randn(features, frequencies) * sigma)
        self.phases = nn.Parameter(torch.empty(features, frequencies).uniform_(-math.pi, math.pi) if self.pbld
                                   else torch.zeros(features, frequencies))
        bound = 1 / math.sqrt(periodic)
        self.projection = nn.Parameter(torch.empty(features, periodic, outputs).uniform_(-bound, bound))
        self.offset = nn.Parameter(torch.empty(features, outputs).uniform_(-bound, bound))
        self.out_features = embedding_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        angles = 2 * math.pi * x.unsqueeze(-1) * self.frequencies  # (N, F, frequencies)
        if self.pbld:
            periodic = torch.cos(angles + self.phases)
        else:
            periodic = torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)
        values = torch.einsum("nfp,fpo->nfo", periodic, self.projection) + self.offset
        if self.pbld:
            values = torch.cat([x.unsqueeze(-1), values], dim=-1)  # "densenet": keep x itself
        else:
            values = torch.relu(values)
        return values.flatten(1)


class ParametricActivation(nn.Module):
    """``(1 - α) x + α σ(x)`` with one learnable ``α`` per unit, starting at 1 (plain ``σ``)."""

    def __init__(self, width: int, activation: nn.Module) -> None:
        super().__init__()
        self.activation = activation
        self.mix = nn.Parameter(torch.ones(width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.mix * (self.activation(x) - x)


class RealMLP(nn.Module):
    """Smooth clipping → numeric embeddings → front scale → MLP blocks → linear head."""

    def __init__(self, input_shape, output_size: int, depth: int = 3, width: int = 256, embedding: str = "pbld",
                 embedding_dim: int = 4, frequency_scale: float | None = None, activation: str = "auto",
                 parametric: bool = True, task: str = "multiclass") -> None:
        super().__init__()
        (features,) = input_shape
        regression = task == "regression"
        if activation == "auto":
            activation = "mish" if regression else "selu"
        if frequency_scale is None:
            frequency_scale = 0.15 if regression else 0.1
        self.clip = SmoothClip()
        if embedding == "none":
            self.embed = nn.Identity()
            values = features
        else:
            self.embed = PeriodicEmbedding(features, embedding, 16, embedding_dim, frequency_scale)
            values = features * embedding_dim
        self.front_scale = nn.Parameter(torch.full((values,), 1 / FRONT_SCALE_LR_FACTOR))
        self.front_scale_factor = FRONT_SCALE_LR_FACTOR
        layers: list[nn.Module] = []
        for _ in range(depth):
            layers.append(nn.Linear(values, width))
            act = ACTIVATIONS[activation]()
            layers.append(ParametricActivation(width, act) if parametric else act)
            values = width
        self.blocks = nn.Sequential(*layers)
        self.head = nn.Linear(values, output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.embed(self.clip(x)) * (self.front_scale_factor * self.front_scale)
        return self.head(self.blocks(h))


def build_realmlp(input_shape, output_size, task: str = "multiclass", **hparams) -> RealMLP:
    """RealMLP for tabular rows; the ``task`` fact picks the paper's activation and frequency scale."""
    return RealMLP(tuple(input_shape), output_size, task=task, **hparams)


@hookimpl
def automl_architectures():
    return [
        ArchitectureSpec(
            name="realmlp",
            build=build_realmlp,
            tasks=SUPERVISED,
            input_kinds=("tabular",),
            space={
                "depth": {"choice": [2, 3, 4]},
                "width": {"choice": [128, 256, 512]},
                "embedding": {"choice": ["pbld", "plr", "none"]},
                "embedding_dim": {"choice": [4, 8]},
                "activation": {"choice": ["auto", "selu", "mish"]},
                "parametric": True,
            },
            description="RealMLP (Holzmüller et al. 2024): smooth clipping, periodic numeric embeddings, front scale, parametric activations",
        )
    ]
