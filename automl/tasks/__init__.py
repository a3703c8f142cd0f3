"""The task layer: one :class:`automl.tasks.base.Task` per kind of learning problem.

Tasks are a plugin family: the built-in ``binary``, ``multiclass``, ``regression``, ``cluster``
and ``generate`` arrive through the ``automl_tasks`` hook (``plugins/tasks.py``) exactly as a
third-party task would, and the registry is the one place that knows them.
"""

from __future__ import annotations

from automl.registry import Registry, load_registry
from automl.tasks.base import Task

__all__ = ["Task", "task_named"]


def task_named(name: str, registry: Registry | None = None) -> Task:
    """The task registered as ``name`` (from ``registry``, else from the installed plugins)."""
    return (registry or load_registry()).task(name)
