"""TabM: ``k`` MLPs in one model through BatchEnsemble-style adapters, after Gorishniy, Kotelnikov
and Babenko, *TabM: Advancing Tabular Deep Learning with Parameter-Efficient Ensembling*
(ICLR 2025), for tabular rows ``(F,)``.

Every member ``i`` shares each hidden layer's weight matrix ``W`` and owns its adapters and bias
(BatchEnsemble, Wen et al. 2020): ``h_i = s_i ⊙ (W (r_i ⊙ x)) + b_i``. ``adapters="all"`` is
TabM (adapters in every hidden layer), ``"mini"`` is TabM-mini (one input adapter ``r_i``, then
a shared MLP). The first ``r_i`` start as random signs, the other adapters as ones (the
paper's initialization), so members differ from the first step. Each member has its own
linear head. Optionally (``embedding="plr"``) the features first pass through the periodic
embeddings of ``automl_plugins.realmlp`` (the paper's best variant embeds with piecewise-linear
encodings; periodic ones are what this package offers).

Predictions are the members' average: the mean of the regression outputs, or, for
classification, the mean of the members' class probabilities (returned as its logarithm, so the
platform's softmax gives back that mean).

Training follows the paper's rule that members are trained as separate models (the loss is the
mean of the members' losses, not the loss of their mean) within the platform's one-output loss:
each training row goes through one member drawn at random per row and batch, so the batch loss
is an unbiased estimate of the mean member loss, at the cost of a single MLP per batch
(``member_training="routed"``). ``"averaged"`` trains on the averaged prediction instead (all
members see every row, ``k`` times the cost, but they are no longer trained as separate
models, which the paper's protocol requires); bench/RESULTS.md compares the two.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn

from automl import hookimpl
from automl.components import ArchitectureSpec
from automl_plugins.realmlp import PeriodicEmbedding

SUPERVISED = ("binary", "multiclass", "regression")


class EnsembleLinear(nn.Module):
    """A linear layer shared by ``k`` members, each with its own input adapter ``r``, output
    adapter ``s`` and bias.

    ``forward(x, members)``: ``x`` is ``(N, k, in)`` for all members at once, or ``(N, in)``
    with ``members`` ``(N,)`` naming the one member each row goes through.
    """

    def __init__(self, in_features: int, out_features: int, k: int, random_signs: bool) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, out_features, bias=False)
        start = torch.ones(k, in_features)
        if random_signs:
            start = torch.where(torch.rand(k, in_features) < 0.5, -start, start)
        # Parameter names avoid "weight": the searched initialization re-initializes *weight*
        # matrices, and these adapters must keep their ±1 / 1 start.
        self.adapter_in = nn.Parameter(start)
        self.adapter_out = nn.Parameter(torch.ones(k, out_features))
        bound = 1 / math.sqrt(in_features)
        self.member_bias = nn.Parameter(torch.empty(k, out_features).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor, members: Optional[torch.Tensor]) -> torch.Tensor:
        if members is None:
            return self.linear(x * self.adapter_in) * self.adapter_out + self.member_bias
        return self.linear(x * self.adapter_in[members]) * self.adapter_out[members] + self.member_bias[members]


class InputAdapter(nn.Module):
    """TabM-mini's only per-member part before the heads: ``r_i ⊙ x``, ``r_i`` random signs."""

    def __init__(self, features: int, k: int) -> None:
        super().__init__()
        self.adapter_in = nn.Parameter(torch.where(torch.rand(k, features) < 0.5, -1.0, 1.0))

    def forward(self, x: torch.Tensor, members: Optional[torch.Tensor]) -> torch.Tensor:
        return x * (self.adapter_in if members is None else self.adapter_in[members])


class SharedLinear(nn.Linear):
    """A plain linear layer all members share (TabM-mini's hidden layers)."""

    def forward(self, x: torch.Tensor, members: Optional[torch.Tensor]) -> torch.Tensor:
        return nn.functional.linear(x, self.weight, self.bias)


class EnsembleHeads(nn.Module):
    """``k`` separate linear heads: ``(N, k, in)`` → ``(N, k, out)``, or one head per row."""

    def __init__(self, in_features: int, out_features: int, k: int) -> None:
        super().__init__()
        bound = 1 / math.sqrt(in_features)
        self.member_heads = nn.Parameter(torch.empty(k, in_features, out_features).uniform_(-bound, bound))
        self.member_head_bias = nn.Parameter(torch.empty(k, out_features).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor, members: Optional[torch.Tensor]) -> torch.Tensor:
        if members is None:
            return torch.einsum("nki,kio->nko", x, self.member_heads) + self.member_head_bias
        return torch.einsum("ni,nio->no", x, self.member_heads[members]) + self.member_head_bias[members]


class TabM(nn.Module):
    """[Periodic embeddings] → ``depth`` ensemble blocks (linear → ReLU) → ``k`` heads → average."""

    def __init__(self, input_shape, output_size: int, k: int = 32, depth: int = 3, width: int = 512,
                 adapters: str = "all", embedding: str = "none", embedding_dim: int = 8,
                 member_training: str = "routed", task: str = "multiclass") -> None:
        super().__init__()
        if adapters not in ("all", "mini"):
            raise ValueError(f"unknown adapters {adapters!r}; use 'all' (TabM) or 'mini' (TabM-mini)")
        if member_training not in ("routed", "averaged"):
            raise ValueError(f"unknown member_training {member_training!r}; use 'routed' or 'averaged'")
        (features,) = input_shape
        self.k = k
        self.routed = member_training == "routed"
        self.classification = task in ("binary", "multiclass")
        if embedding == "plr":
            self.embed = PeriodicEmbedding(features, "plr", 16, embedding_dim, sigma=0.1)
            values = features * embedding_dim
        elif embedding == "none":
            self.embed = nn.Identity()
            values = features
        else:
            raise ValueError(f"unknown embedding {embedding!r}; use 'none' or 'plr'")
        self.adapter = InputAdapter(values, k) if adapters == "mini" else None
        self.layers = nn.ModuleList()
        self.activations = nn.ModuleList()
        for i in range(depth):
            self.layers.append(SharedLinear(values, width) if adapters == "mini"
                               else EnsembleLinear(values, width, k, random_signs=i == 0))
            self.activations.append(nn.ReLU())
            values = width
        self.heads = EnsembleHeads(values, output_size, k)

    def member_outputs(self, x: torch.Tensor) -> torch.Tensor:
        """Every member's outputs, ``(N, k, output_size)``."""
        h = self.embed(x).unsqueeze(1).expand(-1, self.k, -1)
        return self._through_members(h, None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.routed:  # one member per row: an unbiased estimate of the mean member loss
            members = torch.randint(0, self.k, (x.shape[0],), device=x.device)
            return self._through_members(self.embed(x), members)
        out = self.member_outputs(x)
        if self.classification:  # log of the members' mean class probabilities
            return torch.logsumexp(torch.log_softmax(out, dim=-1), dim=1) - math.log(self.k)
        return out.mean(dim=1)

    def _through_members(self, h: torch.Tensor, members: Optional[torch.Tensor]) -> torch.Tensor:
        if self.adapter is not None:
            h = self.adapter(h, members)
        for layer, activation in zip(self.layers, self.activations):
            h = activation(layer(h, members))
        return self.heads(h, members)


def build_tabm(input_shape, output_size, task: str = "multiclass", **hparams) -> TabM:
    """TabM for tabular rows; the ``task`` fact says how member predictions are averaged."""
    return TabM(tuple(input_shape), output_size, task=task, **hparams)


@hookimpl
def automl_architectures():
    return [
        ArchitectureSpec(
            name="tabm",
            build=build_tabm,
            tasks=SUPERVISED,
            input_kinds=("tabular",),
            space={
                "k": {"choice": [16, 32]},
                "depth": {"choice": [1, 2, 3, 4]},
                "width": {"choice": [128, 256, 512]},
                "adapters": {"choice": ["all", "mini"]},
                "embedding": {"choice": ["none", "plr"]},
            },
            description="TabM (Gorishniy et al. 2024): k BatchEnsemble MLPs in one model, averaged predictions",
        )
    ]
