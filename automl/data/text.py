"""Text input: a word-level tokenizer whose vocabulary is fitted on the training split only.

Texts become ``(N, T)`` int64 token ids: 0 = padding, 1 = a word outside the vocabulary,
2.. = vocabulary words by training frequency. ``vocab_size`` counts all ids.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pandas as pd

from automl.errors import AutoMLError

PAD, UNKNOWN = 0, 1
TOKEN = re.compile(r"\w+", re.UNICODE)


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens."""
    return TOKEN.findall(str(text).lower())


class TextTokenizer:
    """Map one text column to padded token-id sequences.

    ``max_vocabulary`` caps the vocabulary (most frequent first); words seen fewer than
    ``min_count`` times in training are unknown; ``max_length`` is the training texts'
    95th-percentile length, capped at ``length_cap``.
    """

    def __init__(self, column: str, max_vocabulary: int = 20_000, min_count: int = 1, length_cap: int = 256) -> None:
        self.column = column
        self.max_vocabulary = max_vocabulary
        self.min_count = min_count
        self.length_cap = length_cap

    def fit(self, texts: pd.Series) -> "TextTokenizer":
        """Learn the vocabulary and sequence length from the training texts."""
        counts: Counter[str] = Counter()
        lengths = []
        for text in texts.fillna(""):
            tokens = tokenize(text)
            counts.update(tokens)
            lengths.append(len(tokens))
        words = [w for w, n in counts.most_common(self.max_vocabulary) if n >= self.min_count]
        self.vocabulary_ = {w: i + 2 for i, w in enumerate(words)}
        self.max_length_ = int(min(self.length_cap, max(1, np.percentile(lengths, 95))))
        return self

    @property
    def vocab_size(self) -> int:
        return len(self.vocabulary_) + 2

    def encode(self, texts: pd.Series) -> np.ndarray:
        out = np.zeros((len(texts), self.max_length_), dtype=np.int64)
        for row, text in enumerate(texts.fillna("")):
            ids = [self.vocabulary_.get(t, UNKNOWN) for t in tokenize(text)[: self.max_length_]]
            out[row, : len(ids)] = ids
        return out

    def transform(self, data) -> np.ndarray:
        """Token ids of the text column of a table (other columns are ignored)."""
        if not isinstance(data, pd.DataFrame) or self.column not in data.columns:
            raise AutoMLError(f"required column '{self.column}' is missing from the data", f"pass a table with the text column '{self.column}'")
        return self.encode(data[self.column])

    def summary(self) -> dict:
        return {"text_column": self.column, "vocab_size": self.vocab_size, "max_length": self.max_length_}
