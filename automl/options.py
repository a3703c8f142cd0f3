"""Which search options each task uses, and the combinations of options a search refuses.

One table, :data:`TASK_OPTIONS`, lists every option of a search (the keywords of
``AutoML(...)``, the flags of ``automl search``) with the tasks that use it. An option given
explicitly (a value other than its default) that the task would ignore is refused before
anything runs, with one line naming the flag and the task; :func:`check_combinations` does the
same for pairs of options that cannot work together, such as a pair Ray Tune refuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from automl.components import CLASSIFICATION_TASKS, SUPERVISED_TASKS, TASKS
from automl.errors import AutoMLError

SCHEDULERS = ("asha", "fifo", "hyperband", "pbt")
SEARCHERS = ("random", "grid", "tpe", "gp")
# Schedulers that pause or clone trials need a checkpoint every epoch to resume from.
CHECKPOINTING_SCHEDULERS = ("hyperband", "pbt")
# A search without --task infers one of these from the target column.
INFERRED_TASKS = SUPERVISED_TASKS


@dataclass(frozen=True)
class OptionUse:
    """Where one search option takes effect.

    ``flag`` is its ``automl search`` flag; ``tasks`` are the tasks that use a value other than
    the default (``values``: only these values, when the others work for every task); ``why``
    says what the option does, for the message that refuses it.
    """

    flag: str
    tasks: tuple[str, ...] = TASKS
    values: tuple[Any, ...] | None = None
    why: str = ""

    def used_by(self, task: str, value: Any) -> bool:
        """Whether ``task`` uses this option set to ``value``."""
        return task in self.tasks or (self.values is not None and value not in self.values)


# Every keyword of AutoML(...) but the live callbacks; tests/test_options.py checks that each
# `automl search` flag is here too.
TASK_OPTIONS: dict[str, OptionUse] = {
    "target": OptionUse("--target"),  # cluster and generate set the column aside, unused
    "task": OptionUse("--task"),
    "metric": OptionUse("--metric"),  # each task accepts its own metrics: automl.tasks
    "space": OptionUse("--space"),
    "num_trials": OptionUse("--num-trials"),
    "time_budget_s": OptionUse("--time-budget"),
    "scheduler": OptionUse("--scheduler"),
    "searcher": OptionUse("--searcher"),
    "max_concurrent": OptionUse("--max-concurrent"),
    "cpus_per_trial": OptionUse("--cpus-per-trial"),
    "gpus_per_trial": OptionUse("--gpus-per-trial"),
    "address": OptionUse("--address"),
    "storage": OptionUse("--storage"),
    "precision": OptionUse("--precision"),
    "checkpoint_every": OptionUse("--checkpoint-every"),
    "output": OptionUse("--output"),
    "overwrite": OptionUse("--overwrite"),
    "seed": OptionUse("--seed"),
    "val_fraction": OptionUse("--val-fraction"),
    "test_fraction": OptionUse("--test-fraction"),
    "image_shape": OptionUse("--image-shape"),
    "n_clusters": OptionUse("--n-clusters", ("cluster",), why="it fixes k of the clustering"),
    "disable_plugins": OptionUse("--disable-plugin"),
    "verbose": OptionUse("--verbose"),
    "test_data": OptionUse("--test-data", SUPERVISED_TASKS, why="cluster and generate split random rows"),
    "group_column": OptionUse("--group-column", SUPERVISED_TASKS, why="cluster and generate split random rows"),
    "time_column": OptionUse("--time-column", SUPERVISED_TASKS, why="cluster and generate split random rows"),
    "input_kind": OptionUse("--input-kind", SUPERVISED_TASKS, why="cluster and generate read tables (or --image-shape pixels)"),
    "clip_quantile": OptionUse("--clip-outliers"),
    "class_weights": OptionUse("--class-weights", CLASSIFICATION_TASKS, why="it weights the loss by class frequency"),
    "delimiter": OptionUse("--delimiter"),
    "report": OptionUse("--no-report"),
    "wandb": OptionUse("--no-wandb"),
    "wandb_project": OptionUse("--wandb-project"),
    "wandb_entity": OptionUse("--wandb-entity"),
    "ensemble": OptionUse("--ensemble", SUPERVISED_TASKS, why="it averages the predictions of classifiers or regressors"),
    "max_failures": OptionUse("--max-failures"),
}

# Option → (the option it needs, the value that one must have): without it, it does nothing.
NEEDS: dict[str, tuple[str, Any]] = {
    "wandb_project": ("wandb", True),
    "wandb_entity": ("wandb", True),
}

# Pairs of options that cannot both be given: the data path of the second ignores the first.
CONFLICTS: dict[tuple[str, str], str] = {
    ("image_shape", "input_kind"): "--input-kind reads the table as sequences or text, not as images",
    ("clip_quantile", "input_kind"): "sequence and text input are not clipped (only numeric columns of a table are)",
}

# (scheduler, searcher) pairs that cannot run, and why.
REFUSED_PAIRS: dict[tuple[str, str], str] = {
    ("pbt", searcher): "Ray Tune's PopulationBasedTraining samples trials itself and takes no search algorithm"
    for searcher in ("tpe", "gp")
}


def explicit_options(options: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The options whose value is not their default: those the user gave on purpose."""
    return {name: value for name, value in options.items() if name in defaults and not _is_default(value, defaults[name])}


def _is_default(value: Any, default: Any) -> bool:
    if value is default:
        return True
    # Only plain values compare safely (a DataFrame's == is elementwise).
    plain = (str, int, float, bool, tuple)
    return isinstance(value, plain) and type(value) is type(default) and value == default


def check_task_options(task: str | None, given: Mapping[str, Any]) -> None:
    """Refuse an explicitly given option that ``task`` ignores (``None``: the task is inferred).

    With the task still to be inferred, only options that no inferable task uses are refused
    here; the search checks again once the data has named the task.
    """
    for name, value in given.items():
        use = TASK_OPTIONS[name]
        tasks = " or ".join(use.tasks)
        if task is None:
            if not any(use.used_by(t, value) for t in INFERRED_TASKS):
                raise AutoMLError(
                    f"{_shown(name, use.flag, value)} is used only by task {tasks}, and no task was given",
                    f"pass --task {use.tasks[0]} (task='{use.tasks[0]}'), or drop {use.flag}",
                )
        elif not use.used_by(task, value):
            why = f": {use.why}" if use.why else ""
            instead = f"another {use.flag} than {' or '.join(use.values)}" if use.values else f"no {use.flag}"
            raise AutoMLError(
                f"{_shown(name, use.flag, value)} does not work with task {task}{why}",
                f"use {instead}, or use it with task {tasks}",
            )


def check_combinations(options: Mapping[str, Any], given: Mapping[str, Any]) -> None:
    """Refuse unknown scheduler or searcher names, pairs of options that cannot run together,
    and options that do nothing without another one."""
    scheduler, searcher = options.get("scheduler", "asha"), options.get("searcher", "random")
    if scheduler not in SCHEDULERS:
        raise AutoMLError(f"unknown scheduler '{scheduler}'", f"use one of: {', '.join(SCHEDULERS)}")
    if searcher not in SEARCHERS:
        raise AutoMLError(f"unknown searcher '{searcher}'", f"use one of: {', '.join(SEARCHERS)}")
    refused = REFUSED_PAIRS.get((scheduler, searcher))
    if refused:
        workable = [s for s in SEARCHERS if (scheduler, s) not in REFUSED_PAIRS]
        raise AutoMLError(
            f"--searcher {searcher} cannot run with --scheduler {scheduler}: {refused}",
            f"use --searcher {' or '.join(workable)} with --scheduler {scheduler}, or another --scheduler",
        )
    for (first, second), why in CONFLICTS.items():
        if first in given and second in given:
            flag, other = TASK_OPTIONS[first].flag, TASK_OPTIONS[second].flag
            raise AutoMLError(f"{flag} / {first} does not work with {other} / {second}: {why}", f"drop {flag} or {other}")
    for name, (needed, value) in NEEDS.items():
        if name in given and options.get(needed) != value:
            flag, needed_flag = TASK_OPTIONS[name].flag, TASK_OPTIONS[needed].flag
            raise AutoMLError(
                f"{flag} / {name} does nothing with {needed_flag} / {needed}={options.get(needed)!r}", f"drop {flag} or {needed_flag}",
            )


def _shown(name: str, flag: str, value: Any) -> str:
    """``--scheduler / scheduler='pbt'``: the flag and the keyword, with a plain value."""
    plain = isinstance(value, (str, int, float)) and not isinstance(value, bool)
    return f"{flag} / {name}={value!r}" if plain else f"{flag} / {name}"
