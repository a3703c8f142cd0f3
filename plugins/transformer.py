"""Transformer encoders: one over time steps or tokens (sequences ``(T, F)``, text ``(T,)``), and
a feature-token variant for tabular rows ``(F,)`` in which every feature becomes a token.

Both are pre-norm ``torch.nn.TransformerEncoder`` stacks with a LayerNorm and linear head. The
sequence model pools the encoded steps (padding excluded); the tabular model reads a learned
[CLS] token.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from automl import hookimpl
from automl.components import ArchitectureSpec

SUPERVISED = ("binary", "multiclass", "regression")


def sinusoidal_positions(length: int, width: int) -> torch.Tensor:
    """The fixed sine/cosine position table of "Attention is all you need", ``(length, width)``."""
    position = torch.arange(length, dtype=torch.float32).unsqueeze(1)
    frequency = torch.exp(torch.arange(0, width, 2, dtype=torch.float32) * (-math.log(10000.0) / width))
    table = torch.zeros(length, width)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency[: width // 2])
    return table


def encoder(model_width: int, heads: int, layers: int, dropout: float) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(model_width, heads, dim_feedforward=2 * model_width, dropout=dropout,
                                       batch_first=True, norm_first=True)
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


class SequenceTransformer(nn.Module):
    """[Token embedding | linear step projection] + positions → encoder → mean pool → head."""

    def __init__(self, input_shape, output_size: int, vocab_size: int | None = None, layers: int = 2,
                 heads: int = 4, model_width: int = 64, positional: str = "sinusoidal", dropout: float = 0.1) -> None:
        super().__init__()
        self.text = len(input_shape) == 1
        length = input_shape[0]
        if self.text:
            if not vocab_size:
                raise ValueError("transformer on token ids needs vocab_size")
            self.embed = nn.Embedding(vocab_size, model_width, padding_idx=0)
        else:
            self.embed = nn.Linear(input_shape[1], model_width)
        if positional == "learned":
            self.positions = nn.Parameter(torch.zeros(1, length, model_width))
            nn.init.normal_(self.positions, std=0.02)
        elif positional == "sinusoidal":
            self.register_buffer("positions", sinusoidal_positions(length, model_width).unsqueeze(0))
        else:
            self.positions = None
        self.encoder = encoder(model_width, heads, layers, dropout)
        self.norm = nn.LayerNorm(model_width)
        self.head = nn.Linear(model_width, output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.text:
            padding = x == 0
            padding = padding & ~padding.all(dim=1, keepdim=True)  # an empty text attends to its pads
        else:
            padding = torch.zeros(x.shape[:2], dtype=torch.bool, device=x.device)
        h = self.embed(x)
        if self.positions is not None:
            h = h + self.positions[:, : h.shape[1]]
        h = self.norm(self.encoder(h, src_key_padding_mask=padding if self.text else None))
        keep = (~padding).unsqueeze(-1).to(h.dtype)
        return self.head((h * keep).sum(1) / keep.sum(1).clamp(min=1.0))


class FeatureTokenTransformer(nn.Module):
    """Tabular rows as tokens: feature ``i`` becomes ``x_i * w_i + b_i``; a [CLS] token is read out."""

    def __init__(self, input_shape, output_size: int, layers: int = 2, heads: int = 4, model_width: int = 32,
                 dropout: float = 0.1) -> None:
        super().__init__()
        (features,) = input_shape
        self.weight = nn.Parameter(torch.randn(features, model_width) / math.sqrt(model_width))
        self.bias = nn.Parameter(torch.zeros(features, model_width))
        self.cls = nn.Parameter(torch.randn(1, 1, model_width) * 0.02)
        self.encoder = encoder(model_width, heads, layers, dropout)
        self.norm = nn.LayerNorm(model_width)
        self.head = nn.Linear(model_width, output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = x.unsqueeze(-1) * self.weight + self.bias
        tokens = torch.cat([self.cls.expand(len(x), -1, -1), tokens], dim=1)
        return self.head(self.norm(self.encoder(tokens)[:, 0]))


def build_transformer(input_shape, output_size, vocab_size: int | None = None, **hparams) -> SequenceTransformer:
    """Transformer encoder over steps or tokens; ``vocab_size`` is passed for text input."""
    return SequenceTransformer(tuple(input_shape), output_size, vocab_size, **hparams)


def build_ft_transformer(input_shape, output_size, **hparams) -> FeatureTokenTransformer:
    """Feature-token transformer for tabular rows."""
    return FeatureTokenTransformer(tuple(input_shape), output_size, **hparams)


@hookimpl
def automl_architectures():
    shared = {"layers": {"choice": [1, 2, 3]}, "heads": {"choice": [2, 4]}, "dropout": {"choice": [0.0, 0.1]}}
    return [
        ArchitectureSpec(
            name="transformer", build=build_transformer, tasks=SUPERVISED, input_kinds=("sequence", "text"),
            space={**shared, "model_width": {"choice": [32, 64]},
                   "positional": {"choice": ["sinusoidal", "learned", "none"]}},
            description="Transformer encoder over time steps or tokens, positional encoding, mean pooling",
        ),
        ArchitectureSpec(
            name="ft_transformer", build=build_ft_transformer, tasks=SUPERVISED, input_kinds=("tabular",),
            space={**shared, "model_width": {"choice": [16, 32, 64]}},
            description="feature-token Transformer encoder for tabular rows, [CLS] read-out",
        ),
    ]
