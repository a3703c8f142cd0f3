"""The epoch, the unit of every budget (``epochs``, the schedulers' rungs, early stopping's
patience): one pass over the training rows or, on data too small for the space's
``min_steps_per_epoch`` batches (default 32), as many passes as make that many optimizer
steps: on 42 rows a pass is two batches, and a first rung after two gradient steps judges nothing.
"""

from __future__ import annotations

import math
from typing import Any, Mapping


def batches_per_pass(rows: int, batch_size: int) -> int:
    """The optimizer steps of one pass over ``rows`` (a last batch of one row is skipped)."""
    full, rest = divmod(rows, batch_size)
    return max(1, full + (1 if rest >= 2 or full == 0 else 0))


def passes_per_epoch(rows: int, batch_size: int, min_steps: int = 1) -> int:
    """Passes over the training rows per epoch: enough for ``min_steps`` optimizer steps."""
    return math.ceil(min_steps / batches_per_pass(rows, batch_size))


def steps_per_epoch(rows: int, batch_size: int, min_steps: int = 1) -> int:
    return passes_per_epoch(rows, batch_size, min_steps) * batches_per_pass(rows, batch_size)


def min_steps_of(config: Mapping[str, Any]) -> int:
    """A trial config's budget unit. Spaces write it into every config (default
    ``MIN_STEPS_PER_EPOCH``); a config without it (saved before it existed, or written by hand)
    trains one pass per epoch."""
    return int(config.get("min_steps_per_epoch", 1))
