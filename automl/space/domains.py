"""One hyperparameter domain of a search space: its YAML forms, their validation, their bounds,
and the same domain as Ray Tune draws it and as an Optuna trial suggests it."""

from __future__ import annotations

from typing import Any, Mapping

from automl.errors import AutoMLError

DOMAIN_ARITY = {
    "choice": None, "grid": None, "uniform": 2, "loguniform": 2, "randint": 2,
    "quniform": 3, "qloguniform": 3, "qrandint": 3,
}


def is_domain(value: Any) -> bool:
    return isinstance(value, Mapping) and len(value) == 1 and next(iter(value)) in DOMAIN_ARITY


def validate_domain(value: Any, where: str) -> None:
    """Raise a clear error if ``value`` looks like a domain but is malformed."""
    if not isinstance(value, Mapping):
        return
    if len(value) != 1 or next(iter(value)) not in DOMAIN_ARITY:
        raise AutoMLError(
            f"{where}: {dict(value)!r} is not a domain",
            f"use a constant or one of {{{', '.join(DOMAIN_ARITY)}}} with its arguments",
        )
    kind, args = next(iter(value.items()))
    arity = DOMAIN_ARITY[kind]
    if not isinstance(args, (list, tuple)) or not args:
        raise AutoMLError(f"{where}: {kind} needs a non-empty list", f"write {kind}: [..]")
    if arity is not None:
        if len(args) != arity or not all(isinstance(a, (int, float)) for a in args):
            raise AutoMLError(
                f"{where}: {kind} takes {arity} numbers, got {list(args)!r}",
                f"write {kind}: [low, high{', q' if arity == 3 else ''}]",
            )
        if args[0] >= args[1] or (kind == "loguniform" and args[0] <= 0):
            raise AutoMLError(f"{where}: {kind} bounds {list(args)!r} are empty or invalid", "use 0 < low < high")


def validate_component_space(space: Mapping[str, Any]) -> None:
    """Check a plugin's declared space (used by the registry when a plugin loads)."""
    if not isinstance(space, Mapping):
        raise AutoMLError(f"space is a {type(space).__name__}", "declare the space as a dict")
    for key, value in space.items():
        validate_domain(value, f"space['{key}']")


def domain_bounds(value: Any) -> tuple[float, float]:
    """The smallest and largest value a numeric domain (or constant) can take."""
    if not is_domain(value):
        return value, value
    kind, args = next(iter(value.items()))
    if kind in ("choice", "grid"):
        return min(args), max(args)
    return args[0], args[1]


def to_tune(value: Any) -> Any:
    """One declarative domain (or constant) as a Ray Tune domain (or constant)."""
    from ray import tune

    if not is_domain(value):
        return value
    kind, args = next(iter(value.items()))
    if kind in ("choice", "grid"):
        return (tune.choice if kind == "choice" else tune.grid_search)(list(args))
    return getattr(tune, kind)(*args)  # every other kind of DOMAIN_ARITY is the Tune function of that name


def to_tune_grid(value: Any) -> Any:
    """Like :func:`to_tune`, but every ``choice`` becomes an exhaustive grid."""
    if is_domain(value) and "choice" in value:
        return to_tune({"grid": value["choice"]})
    return to_tune(value)


def suggest(trial, name: str, value: Any) -> Any:
    """Draw one value from an Optuna trial (define-by-run); constants are returned unchanged."""
    if not is_domain(value):
        return value
    kind, args = next(iter(value.items()))
    if kind in ("choice", "grid"):
        return trial.suggest_categorical(name, list(args))
    if kind in ("uniform", "loguniform"):
        return trial.suggest_float(name, args[0], args[1], log=kind == "loguniform")
    if kind == "quniform":
        return trial.suggest_float(name, args[0], args[1], step=args[2])
    if kind == "qloguniform":
        return round(trial.suggest_float(name, args[0], args[1], log=True) / args[2]) * args[2]
    if kind == "randint":
        return trial.suggest_int(name, int(args[0]), int(args[1]) - 1)
    return trial.suggest_int(name, int(args[0]), int(args[1]), step=int(args[2]))
