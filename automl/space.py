"""Search spaces: the registry plus a YAML file become one conditional Ray Tune param_space.

A trial's config is nested, one block per component family, so each architecture, loss and
optimizer brings only its own hyperparameters::

    {"epochs": 20, "batch_size": 64, "seed": 0,
     "architecture": {"name": "mlp", "width": 128, "depth": 2},
     "loss": {"name": "cross_entropy", "label_smoothing": 0.0},
     "optimizer": {"name": "adam", "lr": 0.003},
     "regularizers": {"dropout": {"enabled": True, "p": 0.2}, "l2": {"enabled": False}}}

YAML schema (``search_spaces/default.yaml`` is the reference)::

    epochs: 20                         # a constant or a domain; ASHA's budget dimension
    batch_size: {choice: [32, 64]}
    preprocessing:                     # optional; tabular input only (automl/data/variants.py)
      imputer: {choice: [median, most_frequent]}
      scaler: {choice: [standard, robust, minmax]}
    architectures:                     # also: losses, optimizers, regularizers
      include: [mlp]                   # optional; default every component that fits
      exclude: []                      # optional
      mlp:                             # optional; overrides entries of the plugin's space
        width: {choice: [64, 128]}
    regularizers:
      dropout:
        enabled: {choice: [true, false]}   # default; `true` forces it on
        p: {uniform: [0.0, 0.5]}

Domains: a constant, or one of ``{choice: [..]}``, ``{uniform: [low, high]}``,
``{loguniform: [low, high]}``, ``{randint: [low, high]}`` (high exclusive),
``{quniform: [low, high, q]}``, ``{grid: [..]}``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from automl.components import FAMILIES, SINGULAR
from automl.errors import AutoMLError

DOMAIN_ARITY = {"choice": None, "grid": None, "uniform": 2, "loguniform": 2, "randint": 2, "quniform": 3}
TOP_LEVEL_KEYS = ("epochs", "batch_size", "preprocessing", *FAMILIES)
FAMILY_KEYS = ("include", "exclude")
CONFIG_KEY = {"architectures": "architecture", "losses": "loss", "optimizers": "optimizer"}


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


def to_tune(value: Any) -> Any:
    """One declarative domain (or constant) as a Ray Tune domain (or constant)."""
    from ray import tune

    if not is_domain(value):
        return value
    kind, args = next(iter(value.items()))
    if kind == "choice":
        return tune.choice(list(args))
    if kind == "grid":
        return tune.grid_search(list(args))
    if kind == "uniform":
        return tune.uniform(*args)
    if kind == "loguniform":
        return tune.loguniform(*args)
    if kind == "randint":
        return tune.randint(*args)
    return tune.quniform(*args)


@dataclass
class SearchSpace:
    """A resolved space: for each family, the offered components and each one's domains."""

    epochs: Any
    batch_size: Any
    components: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    source: str = ""
    preprocessing: dict[str, list[str]] = field(default_factory=dict)

    def names(self, family: str) -> list[str]:
        return list(self.components[family])

    def max_epochs(self) -> int:
        if is_domain(self.epochs):
            return int(max(next(iter(self.epochs.values()))))
        return int(self.epochs)

    def to_tune(self, seed: int) -> dict:
        """The Ray Tune ``param_space``: nested choices make the space conditional."""
        from ray import tune

        param_space: dict[str, Any] = {
            "seed": seed,
            "epochs": to_tune(self.epochs),
            "batch_size": to_tune(self.batch_size),
        }
        for family, key in CONFIG_KEY.items():
            options = [
                {"name": name, **{k: to_tune(v) for k, v in params.items()}}
                for name, params in self.components[family].items()
            ]
            param_space[key] = tune.choice(options) if len(options) > 1 else options[0]
        if self.preprocessing:
            param_space["preprocessing"] = {k: tune.choice(v) if len(v) > 1 else v[0] for k, v in self.preprocessing.items()}
        param_space["regularizers"] = {
            name: {k: to_tune(v) for k, v in params.items()}
            for name, params in self.components["regularizers"].items()
        }
        return param_space


def find_space_file(name_or_path: str | Path) -> Path:
    """A path to a YAML file, or the name of one in ``search_spaces/`` (``default``, ``quick``)."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise AutoMLError(f"search space file {path} does not exist", "pass an existing YAML file")
        return path
    for folder in _space_folders():
        candidate = folder / f"{name_or_path}.yaml"
        if candidate.is_file():
            return candidate
    known = sorted({p.stem for folder in _space_folders() for p in folder.glob("*.yaml")})
    raise AutoMLError(f"unknown search space '{name_or_path}'", f"use one of {', '.join(known)} or a YAML path")


def _space_folders() -> list[Path]:
    folders = [Path(__file__).resolve().parent.parent / "search_spaces"]
    try:
        import automl_search_spaces

        folders.append(Path(automl_search_spaces.__file__).parent)
    except ImportError:
        pass
    return [f for f in folders if f.is_dir()]


def load_space_file(name_or_path: str | Path) -> tuple[dict, str]:
    path = find_space_file(name_or_path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise AutoMLError(f"search space {path} is not valid YAML: {exc}".replace("\n", " "), "fix the YAML syntax") from exc
    if not isinstance(data, dict):
        raise AutoMLError(f"search space {path} must be a mapping", "start the file with keys such as epochs:")
    return data, str(path)


def build_search_space(registry, spec: Mapping[str, Any], task: str, input_kind: str, source: str = "") -> SearchSpace:
    """Resolve a YAML space against the registry for one task and input kind."""
    where = source or "search space"
    for key in spec:
        if key not in TOP_LEVEL_KEYS:
            raise AutoMLError(f"{where}: unknown key '{key}'", f"use only {', '.join(TOP_LEVEL_KEYS)}")
    space = SearchSpace(epochs=spec.get("epochs", 20), batch_size=spec.get("batch_size", 64), source=source)
    validate_domain(space.epochs, f"{where}: epochs")
    validate_domain(space.batch_size, f"{where}: batch_size")
    if spec.get("preprocessing") and input_kind == "tabular":
        from automl.data.variants import preprocessing_options

        space.preprocessing = preprocessing_options(spec["preprocessing"], where)
    for family in FAMILIES:
        block = spec.get(family) or {}
        if not isinstance(block, Mapping):
            raise AutoMLError(f"{where}: '{family}' must be a mapping", f"write {family}: {{include: [..]}}")
        space.components[family] = _resolve_family(registry, family, block, task, input_kind, where)
    return space


def _resolve_family(registry, family, block, task, input_kind, where) -> dict[str, dict[str, Any]]:
    singular = SINGULAR[family]
    for key, value in block.items():
        if key in FAMILY_KEYS:
            if not isinstance(value, (list, tuple)):
                raise AutoMLError(f"{where}: {family}.{key} must be a list", f"write {family}.{key}: [name, ...]")
            for name in value:
                _known(registry, family, name, f"{where}: {family}.{key}")
        else:
            _known(registry, family, key, f"{where}: {family}")
            if not isinstance(value, Mapping):
                raise AutoMLError(f"{where}: {family}.{key} must be a mapping of hyperparameters", "write name: {param: domain}")
    include = block.get("include")
    exclude = set(block.get("exclude") or ())
    candidates = include if include is not None else [c.name for c in registry.list(family)]
    chosen: dict[str, dict[str, Any]] = {}
    for name in candidates:
        component = registry.get(family, name)
        if name in exclude or not component.fits(task, input_kind):
            continue
        params = copy.deepcopy(dict(component.spec.space))
        overrides = dict(block.get(name) or {})
        for param, value in overrides.items():
            if param != "enabled" and param not in params:
                allowed = ", ".join(params) or "none"
                raise AutoMLError(
                    f"{where}: {family}.{name}.{param} is not a hyperparameter of {singular} '{name}'",
                    f"use one of: {allowed}",
                )
            validate_domain(value, f"{where}: {family}.{name}.{param}")
            params[param] = value
        if family == "regularizers":
            params = {"enabled": params.pop("enabled", {"choice": [False, True]}), **params}
        chosen[name] = params
    if not chosen and family != "regularizers":
        raise AutoMLError(
            f"{where}: no {singular} fits task '{task}' with {input_kind} input",
            f"include a {singular} that supports it (see `automl plugins`)",
        )
    return chosen


def _known(registry, family: str, name: str, where: str) -> None:
    if name not in registry.components[family]:
        known = ", ".join(sorted(registry.components[family])) or "none"
        raise AutoMLError(
            f"{where}: unknown {SINGULAR[family]} '{name}'",
            f"use one of: {known} (or install the plugin that provides it)",
        )
