"""One frozen settings record per concern, built once by the CLI or the Python API and passed down."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DataConfig:
    """What to learn and how to split: ``target`` column, optional ``task`` override, split sizes."""

    target: str | None = None
    task: str | None = None
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    seed: int = 0
    image_shape: tuple[int, ...] | None = None


@dataclass(frozen=True)
class SearchConfig:
    """How to search: the space file, trial count and time budget, scheduler and searcher."""

    space: str | Path = "default"
    num_trials: int | None = None
    time_budget_s: float | None = None
    scheduler: str = "asha"
    searcher: str = "random"
    max_concurrent: int | None = None
    seed: int = 0
    ensemble_size: int = 0  # greedy ensemble selection over the top K trials; 0 or 1: off


@dataclass(frozen=True)
class ResourceConfig:
    """Where trials run: resources per trial and an optional existing Ray cluster address."""

    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    address: str | None = None
