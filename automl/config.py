"""One frozen settings record per concern, built once by the CLI or the Python API and passed down.

A field takes the value of the search option of its name (:data:`automl.options.TASK_OPTIONS`,
where each option is declared once, its default included); ``option()`` names a differently
named one. A field declares no default of its own: :func:`record` gives each one its option's
default, so code that builds a record directly gets what a user who passes nothing gets.
Fields that are not options (``imputer``, ``scaler``: what the data layer uses when a space
does not search them) say so with ``not_an_option``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from automl.options import DEFAULT_SEARCHER, OPTION, TASK_OPTIONS


def option(name: str) -> Any:
    """A field set by the search option ``name`` (another name than the field's), with its default."""
    return field(default=TASK_OPTIONS[name].default, metadata={OPTION: name})


def not_an_option(default: Any) -> Any:
    """A field that no search option sets."""
    return field(default=default, metadata={OPTION: None})


def record(cls: type) -> type:
    """``cls`` as a frozen dataclass whose fields without a value default to their option's
    default (:data:`automl.options.TASK_OPTIONS`, the one place it is declared)."""
    for name in cls.__annotations__:
        if name not in cls.__dict__:
            setattr(cls, name, TASK_OPTIONS[name].default)
    return dataclass(frozen=True)(cls)


@record
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

    target: str | None
    task: str | None
    val_fraction: float
    test_fraction: float
    seed: int
    image_shape: tuple[int, ...] | None
    test_data: Any
    group_column: str | None
    time_column: str | None
    input_kind: str | None
    imputer: str = not_an_option("median")
    scaler: str = not_an_option("standard")
    clip_quantile: float | None
    class_weights: str
    delimiter: str | None
    validation: str  # "auto", "holdout" or "cv:K": see automl.data.folds


@record
class SearchConfig:
    """How to search: the space file, trial count and time budget, scheduler and searcher."""

    space: str | Path
    num_trials: int | None
    time_budget_s: float | None
    scheduler: str
    searcher: str = DEFAULT_SEARCHER  # the option's None means "chosen for the scheduler" (options.searcher_for)
    max_concurrent: int | None
    seed: int
    checkpoint_every: int  # epochs; 0 = only where the scheduler needs it (PBT)
    ensemble_size: int = option("ensemble")  # greedy ensemble selection over the top K trials; 0: off
    max_failures: int  # retries of a crashed trial, from its latest checkpoint
    final_model: str  # with folds: "bag" of the fold models, or "refit" on all training rows


@record
class ResourceConfig:
    """Where trials run: resources per trial and an optional existing Ray cluster address."""

    cpus_per_trial: float
    gpus_per_trial: float
    address: str | None
    storage: str | None  # a path or URI every node can reach; default: the run directory
    precision: str  # "fp32", or "bf16": bfloat16 autocast for forward passes and losses


@record
class TrackingConfig:
    """Where a search is tracked: Weights & Biases on or off, its project and entity, and
    whether the run directory gets its ``report.html``.

    With no W&B API key or login the client runs offline and writes runs under
    ``RUN_DIR/wandb`` for a later ``wandb sync``; it never fails for want of a key.
    """

    wandb: bool
    project: str = option("wandb_project")
    entity: str | None = option("wandb_entity")
    report: bool
