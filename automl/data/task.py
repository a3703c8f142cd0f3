"""Infer the learning task from the target column, and check an explicit one fits it.

Which tasks exist, which of them a target column may name and what each needs of its target
are the tasks' own decisions (:class:`automl.tasks.base.Task`: ``infers``, ``check_target``,
``target_kind``); this module profiles the column once and asks the registered tasks, in
registry order. The data layer never imports the task layer: the tasks arrive as values (the
registry's ``tasks``), or are looked up in the registry of the installed plugins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd

from automl.errors import AutoMLError

MAX_CLASSES_FOR_INTEGER_TARGET = 20

# What a task's target is (``Task.target_kind``): no column (the rows alone), one column, or
# several 0/1 columns (``--target a,b,c``).
NO_TARGET = "none"
ONE_COLUMN = "one column"
SEVERAL_COLUMNS = "several columns"


@dataclass(frozen=True)
class TargetProfile:
    """What the tasks decide on about one target column (missing values dropped)."""

    name: Any
    dtype: Any
    n_unique: int
    numeric: bool
    integer_valued: bool

    @property
    def looks_categorical(self) -> bool:
        """Labels rather than quantities: not numbers, or few whole numbers
        (at most :data:`MAX_CLASSES_FOR_INTEGER_TARGET` of them)."""
        return not self.numeric or (self.integer_valued and self.n_unique <= MAX_CLASSES_FOR_INTEGER_TARGET)


def profile_target(target: pd.Series) -> TargetProfile:
    """The :class:`TargetProfile` of a target column; refuses one that does not vary."""
    values = target.dropna()
    n_unique = values.nunique()
    if n_unique < 2:
        raise AutoMLError(
            f"target column '{target.name}' has {n_unique} distinct value(s)",
            "choose a target that varies across rows",
        )
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    integer_valued = bool(numeric and np.all(np.mod(values.to_numpy(dtype=float), 1) == 0))
    return TargetProfile(target.name, values.dtype, int(n_unique), bool(numeric), integer_valued)


def registered_tasks() -> Mapping[str, Any]:
    """The tasks of the installed plugins, by name (registry order)."""
    from automl.registry import load_registry

    return load_registry().tasks


def infer_task(target: pd.Series, requested: str | None = None, tasks: Mapping[str, Any] | None = None) -> str:
    """The task of a target column: ``requested`` once its task has checked the column, else the
    first of ``tasks`` (default: the registered ones) whose ``infers`` claims it."""
    profile = profile_target(target)
    tasks = registered_tasks() if tasks is None else tasks
    if requested is not None:
        if requested not in tasks:
            raise AutoMLError(f"unknown task '{requested}'", f"use one of: {', '.join(tasks)}")
        tasks[requested].check_target(profile)
        return requested
    for name, task in tasks.items():
        if task.infers(profile):
            return name
    raise AutoMLError(f"no task fits target column '{target.name}'", f"pass --task, one of: {', '.join(tasks)}")
