"""What can be searched, for people: a component's own space and a resolved search space,
as plain records (for JSON) and as text tables (``automl plugins NAME --space``,
``automl space show``).

The records hold the declarative domains exactly as :mod:`automl.space` resolved them, so what
is shown is what a search samples.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from automl.components import FAMILIES, SINGULAR, Component
from automl.space import SearchSpace, is_domain


def describe_domain(value: Any) -> str:
    """A domain in words: ``one of 64, 128``, ``log-uniform 0.0001 to 0.01``, ``integer 1 to 3``."""
    if not is_domain(value):
        return str(value)
    kind, args = next(iter(value.items()))
    if kind == "choice":
        return "one of " + ", ".join(map(str, args))
    if kind == "grid":
        return "each of " + ", ".join(map(str, args)) + " (grid)"
    if kind == "randint":
        return f"integer {args[0]} to {args[1] - 1}"
    shape = {"uniform": "uniform", "quniform": "uniform", "loguniform": "log-uniform", "qloguniform": "log-uniform",
             "qrandint": "integer"}[kind]
    step = f", step {args[2]}" if len(args) == 3 else ""
    return f"{shape} {args[0]} to {args[1]}{step}"


def component_record(component: Component) -> dict[str, Any]:
    """One component, where it came from, where it fits, and its own hyperparameter space."""
    spec = component.spec
    return {
        "family": component.family,
        "name": component.key or component.name,
        "qualified_name": component.qualified_name,
        "plugin": component.plugin,
        "package": component.package,
        "version": component.version,
        "tasks": list(getattr(spec, "tasks", ("any",))),
        "input_kinds": list(getattr(spec, "input_kinds", ("any",))),
        "description": getattr(spec, "description", ""),
        "space": dict(spec.space),
    }


def space_record(space: SearchSpace, task: str, input_kind: str) -> dict[str, Any]:
    """A resolved search space: the offered components of each family and every domain."""
    return {
        "source": space.source,
        "task": task,
        "input_kind": input_kind,
        "epochs": space.epochs,
        "min_steps_per_epoch": space.min_steps_per_epoch,
        "batch_size": space.batch_size,
        "preprocessing": dict(space.preprocessing),
        "components": {family: dict(space.components[family]) for family in FAMILIES},
    }


def format_component(record: dict[str, Any]) -> str:
    """A component's header line and its hyperparameters, one per row."""
    header = (
        f"{SINGULAR[record['family']]} {record['name']}: plugin {record['plugin']}, package {record['package']} "
        f"{record['version']}; tasks {', '.join(record['tasks'])}; inputs {', '.join(record['input_kinds'])}"
    )
    rows = [(name, describe_domain(value)) for name, value in record["space"].items()] or [("-", "no hyperparameters")]
    return header + "\n" + text_table([("hyperparameter", "domain"), *rows])


def format_space(record: dict[str, Any]) -> str:
    """The resolved space: its source, epochs and batch size, then every component's domains."""
    lines = [
        f"search space {record['source']} for task {record['task']}, {record['input_kind']} input",
        f"epochs: {describe_domain(record['epochs'])} (each at least {record['min_steps_per_epoch']} optimizer steps)",
        f"batch_size: {describe_domain(record['batch_size'])}",
    ]
    lines += [f"preprocessing {key}: {describe_domain({'choice': list(options)})}" for key, options in record["preprocessing"].items()]
    rows = [("family", "component", "hyperparameter", "domain")]
    for family, components in record["components"].items():
        lines.append(f"{family}: {', '.join(components) or 'none'}")
        for name, params in components.items():
            rows += [(SINGULAR[family], name, param, describe_domain(value)) for param, value in params.items()]
            if not params:
                rows.append((SINGULAR[family], name, "-", "no hyperparameters"))
    return "\n".join(lines) + "\n\n" + text_table(rows)


def text_table(rows: Sequence[Sequence[str]]) -> str:
    """Rows as left-aligned columns separated by two spaces."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(_line(row, widths) for row in rows)


def _line(cells: Iterable[str], widths: Sequence[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip()
