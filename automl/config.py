"""One frozen settings record per concern, built once by the CLI or the Python API and passed down.

A field takes the value of the search option of its name (:data:`automl.options.TASK_OPTIONS`,
where each option is declared once); ``option()`` names a differently named one. The defaults
here equal the options' defaults (a test checks), so code that builds a record directly gets
what a user who passes nothing gets. Fields that are not options (``imputer``, ``scaler``:
what the data layer uses when a space does not search them) say so with ``not_an_option``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OPTION = "option"  # the field metadata key naming a field's search option


def option(name: str, default: Any) -> Any:
    """A field whose search option has another name."""
    return field(default=default, metadata={OPTION: name})


def not_an_option(default: Any) -> Any:
    """A field that no search option sets."""
    return field(default=default, metadata={OPTION: None})


@dataclass(frozen=True)
class DataConfig:
    """What to learn and how to split and prepare it.

    ``target`` column and optional ``task`` override; split sizes, or ``test_data`` (a file
    holding the user's own test split); ``group_column`` keeps each group on one side of a
    split, ``time_column`` splits in time order; ``input_kind`` forces ``sequence`` (a wide
    table, one row per series) or ``text``; ``imputer`` / ``scaler`` are the defaults when the
    search space does not search them; ``clip_quantile`` clips outliers; ``class_weights``
    is ``none`` or ``balanced``; ``delimiter`` overrides CSV delimiter detection;
    ``validation`` is ``holdout``, ``cv:K`` or ``auto`` (see :mod:`automl.data.folds`).
    """

    target: str | None = None
    task: str | None = None
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    seed: int = 0
    image_shape: tuple[int, ...] | None = None
    test_data: Any = None
    group_column: str | None = None
    time_column: str | None = None
    input_kind: str | None = None
    imputer: str = not_an_option("median")
    scaler: str = not_an_option("standard")
    clip_quantile: float | None = None
    class_weights: str = "none"
    delimiter: str | None = None
    validation: str = "auto"  # or "holdout", or "cv:K": see automl.data.folds


@dataclass(frozen=True)
class SearchConfig:
    """How to search: the space file, trial count and time budget, scheduler and searcher."""

    space: str | Path = "default"
    num_trials: int | None = None
    time_budget_s: float | None = None
    scheduler: str = "asha"
    searcher: str = "tpe"
    max_concurrent: int | None = None
    seed: int = 0
    checkpoint_every: int = 0  # epochs; 0 = only where the scheduler needs it (PBT)
    ensemble_size: int = option("ensemble", 10)  # greedy ensemble selection over the top K trials; 0: off
    max_failures: int = 0  # retries of a crashed trial, from its latest checkpoint
    final_model: str = "bag"  # with folds: "bag" of the fold models, or "refit" on all training rows


@dataclass(frozen=True)
class ResourceConfig:
    """Where trials run: resources per trial and an optional existing Ray cluster address."""

    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    address: str | None = None
    storage: str | None = None  # a path or URI every node can reach; default: the run directory
    precision: str = "fp32"  # or "bf16": bfloat16 autocast for forward passes and losses


@dataclass(frozen=True)
class TrackingConfig:
    """Where a search is tracked: Weights & Biases on or off, its project and entity, and
    whether the run directory gets its ``report.html``.

    With no W&B API key or login the client runs offline and writes runs under
    ``RUN_DIR/wandb`` for a later ``wandb sync``; it never fails for want of a key.
    """

    wandb: bool = True
    project: str = option("wandb_project", "automl")
    entity: str | None = option("wandb_entity", None)
    report: bool = True
