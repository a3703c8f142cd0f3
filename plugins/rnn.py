"""Recurrent networks: Elman RNN, LSTM and GRU for sequences ``(T, F)`` and text ``(T,)``.

Text token ids (0 = padding) go through an embedding first; padding positions are left out of
the pooled summary. The summary (the output at the last real step, or the mean over real
steps) feeds a linear head.
"""

from __future__ import annotations

import torch
from torch import nn

from automl import hookimpl
from automl.components import ArchitectureSpec

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
SUPERVISED = ("binary", "multiclass", "regression")


class Recurrent(nn.Module):
    """[Embedding →] recurrent layers → pooling over time → linear head."""

    def __init__(self, cell: str, input_shape, output_size: int, vocab_size: int | None = None,
                 layers: int = 1, hidden_size: int = 64, bidirectional: bool = False,
                 pooling: str = "last", embedding_dim: int = 64, dropout: float = 0.0) -> None:
        super().__init__()
        self.text = len(input_shape) == 1
        if self.text:
            if not vocab_size:
                raise ValueError(f"{cell} on token ids needs vocab_size")
            self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
            features = embedding_dim
        else:
            features = input_shape[1]
        self.recurrent = CELLS[cell](features, hidden_size, num_layers=layers, batch_first=True,
                                     bidirectional=bidirectional, dropout=dropout if layers > 1 else 0.0)
        self.pooling = pooling
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.text:
            mask = x != 0
            x = self.embedding(x)
        else:
            mask = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)
        outputs, _ = self.recurrent(x)
        if self.pooling == "mean":
            weights = mask.unsqueeze(-1).to(outputs.dtype)
            summary = (outputs * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        else:
            positions = torch.arange(mask.shape[1], device=x.device).expand_as(mask)
            last = torch.where(mask, positions, torch.zeros_like(positions)).amax(dim=1)
            summary = outputs[torch.arange(len(outputs), device=x.device), last]
        return self.head(summary)


def _builder(cell: str):
    def build(input_shape, output_size, vocab_size: int | None = None, **hparams) -> Recurrent:
        return Recurrent(cell, input_shape, output_size, vocab_size, **hparams)

    build.__name__ = f"build_{cell}"
    build.__doc__ = f"A {cell.upper()} network; ``vocab_size`` is passed by the platform for text input."
    return build


SPACE = {
    "layers": {"choice": [1, 2]},
    "hidden_size": {"choice": [32, 64, 128]},
    "bidirectional": {"choice": [False, True]},
    "pooling": {"choice": ["last", "mean"]},
    "embedding_dim": {"choice": [32, 64]},  # text input only
    "dropout": {"choice": [0.0, 0.2]},  # between stacked layers
}


@hookimpl
def automl_architectures():
    return [
        ArchitectureSpec(name=cell, build=_builder(cell), tasks=SUPERVISED, input_kinds=("sequence", "text"),
                         space=SPACE, description=f"{label} over time steps or token embeddings")
        for cell, label in (("rnn", "Elman RNN"), ("lstm", "LSTM"), ("gru", "GRU"))
    ]
