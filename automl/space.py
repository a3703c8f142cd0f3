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
    min_steps_per_epoch: 32            # optional constant: on small data an epoch is as many
                                       # passes over the rows as make this many optimizer steps
    batch_size: {choice: [32, 64]}
    preprocessing:                     # optional; tabular input only (automl/variants.py)
      imputer: {choice: [median, most_frequent]}
      scaler: {choice: [standard, robust, minmax]}
    architectures:                     # also: losses, optimizers, regularizers
      include: [mlp]                   # optional; default every component that fits; a name
                                       # may be qualified: [my-plugins:mlp] (automl/plugins.py)
      exclude: []                      # optional
      mlp:                             # optional; overrides entries of the plugin's space
        width: {choice: [64, 128]}
    regularizers:
      dropout:
        enabled: {choice: [true, false]}   # default; `true` forces it on
        p: {uniform: [0.0, 0.5]}

Domains: a constant, or one of ``{choice: [..]}``, ``{grid: [..]}`` (every value is tried),
``{uniform: [low, high]}``, ``{loguniform: [low, high]}``, ``{randint: [low, high]}`` (high
exclusive), and the quantized ``{quniform: [low, high, q]}``, ``{qloguniform: [low, high, q]}``,
``{qrandint: [low, high, q]}`` (high inclusive).

Searchers read the same space: ``random`` samples it, ``grid`` tries every ``choice`` and
``grid`` value (continuous domains are sampled once per grid point), ``tpe`` and ``gp`` (Optuna)
follow the conditional structure define-by-run, so each component's hyperparameters are
modelled only where that component was chosen.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

from automl.components import FAMILIES, SINGULAR
from automl.errors import AutoMLError

DOMAIN_ARITY = {
    "choice": None, "grid": None, "uniform": 2, "loguniform": 2, "randint": 2,
    "quniform": 3, "qloguniform": 3, "qrandint": 3,
}
TOP_LEVEL_KEYS = ("epochs", "min_steps_per_epoch", "batch_size", "preprocessing", *FAMILIES)
# The budget unit: an epoch is one pass over the training rows, or on small data as many passes
# as make this many optimizer steps (so 42 rows do not mean a first ASHA rung after two steps).
MIN_STEPS_PER_EPOCH = 32
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


@dataclass
class SearchSpace:
    """A resolved space: for each family, the offered components and each one's domains."""

    epochs: Any
    batch_size: Any
    components: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    source: str = ""
    preprocessing: dict[str, list[str]] = field(default_factory=dict)
    min_steps_per_epoch: int = MIN_STEPS_PER_EPOCH

    def names(self, family: str) -> list[str]:
        return list(self.components[family])

    def max_epochs(self) -> int:
        if is_domain(self.epochs):
            return int(max(next(iter(self.epochs.values()))))
        return int(self.epochs)

    def has_grid(self) -> bool:
        """Whether a ``grid`` domain asks for every one of its values (only Tune's random search
        enumerates them; an Optuna sampler would draw one)."""
        values = [self.epochs, self.batch_size]
        values += [v for family in self.components.values() for params in family.values() for v in params.values()]
        return any(is_domain(v) and "grid" in v for v in values)

    def to_tune(self, seed: int, grid: bool = False) -> dict:
        """The Ray Tune ``param_space``: nested choices make the space conditional.

        With ``grid``, every discrete choice (components included) is enumerated instead.
        """
        from ray import tune

        convert = to_tune_grid if grid else to_tune
        param_space: dict[str, Any] = {
            "seed": seed,
            "epochs": convert(self.epochs),
            "min_steps_per_epoch": self.min_steps_per_epoch,
            "batch_size": convert(self.batch_size),
        }
        for family, key in CONFIG_KEY.items():
            options = [
                {"name": name, **{k: convert(v) for k, v in params.items()}}
                for name, params in self.components[family].items()
            ]
            if len(options) == 1:
                param_space[key] = options[0]
            else:
                param_space[key] = tune.grid_search(options) if grid else tune.choice(options)
        if self.preprocessing:
            param_space["preprocessing"] = {
                k: (tune.grid_search(v) if grid else tune.choice(v)) if len(v) > 1 else v[0]
                for k, v in self.preprocessing.items()
            }
        param_space["regularizers"] = {
            name: {k: convert(v) for k, v in params.items()}
            for name, params in self.components["regularizers"].items()
        }
        return param_space

    def define_by_run(self, seed: int) -> "DefineByRun":
        """An Optuna define-by-run function drawing the same nested config, conditionally."""
        return DefineByRun(self, seed)


class DefineByRun:
    """Draws a trial config from an Optuna trial, following the conditional structure.

    Parameter names are unique per component (``architecture/mlp.width``) so that two
    components' hyperparameters never share a distribution; :func:`strip_component_prefixes`
    turns the suggestion back into the nested config the trials read. A class rather than a
    closure, so that Ray can pickle the searcher's state. Returns the constants; Ray adds the
    suggested values.
    """

    def __init__(self, space: SearchSpace, seed: int) -> None:
        self.space = space
        self.seed = seed

    def __call__(self, trial) -> dict:
        drawn = flat_parameters(self.space, lambda name, domain, path: suggest(trial, name, domain))
        constants = {name: value for name, (value, searched) in drawn.items() if not searched}
        return {"seed": self.seed, "min_steps_per_epoch": self.space.min_steps_per_epoch, **constants}


def define_by_run_point(config: Mapping[str, Any], space: SearchSpace) -> dict:
    """A nested trial config as the flat parameters :class:`DefineByRun` suggests (the names
    Optuna sees), for Optuna's ``enqueue_trial`` (Ray Tune's ``points_to_evaluate``): the
    inverse of :func:`strip_component_prefixes` after Ray's ``unflatten_dict``. Constants of
    the space are left out: Optuna suggests no value for them."""

    def value_in_config(name, domain, path):
        node = config
        for key in path:
            node = node[key]
        return node

    return {name: value for name, (value, searched) in flat_parameters(space, value_in_config).items() if searched}


def flat_parameters(space: SearchSpace, draw: Callable[[str, Any, tuple], Any]) -> dict[str, tuple[Any, bool]]:
    """Every parameter of one trial config as Optuna names it, in drawing order:
    ``{name: (value, searched)}``. ``draw(name, domain, path)`` gives a searched parameter's
    value (``path``: its keys in the nested config); a parameter drawn decides which follow
    (a component's own, a regularizer's when enabled)."""
    drawn: dict[str, tuple[Any, bool]] = {}

    def take(name: str, value: Any, path: tuple) -> Any:
        drawn[name] = (draw(name, value, path), True) if is_domain(value) else (value, False)
        return drawn[name][0]

    def one_of(values: list) -> Any:
        return {"choice": list(values)} if len(values) > 1 else values[0]

    for key in ("epochs", "batch_size"):
        take(key, getattr(space, key), (key,))
    for family, key in CONFIG_KEY.items():
        name = take(f"{key}/name", one_of(list(space.components[family])), (key, "name"))
        for param, value in space.components[family][name].items():
            take(f"{key}/{name}.{param}", value, (key, param))
    for option, values in space.preprocessing.items():
        take(f"preprocessing/{option}", one_of(values), ("preprocessing", option))
    for name, params in space.components["regularizers"].items():
        if take(f"regularizers/{name}/enabled", params["enabled"], ("regularizers", name, "enabled")):
            for param, value in params.items():
                if param != "enabled":
                    take(f"regularizers/{name}/{param}", value, ("regularizers", name, param))
    return drawn


def strip_component_prefixes(config: dict) -> dict:
    """``{"architecture": {"name": "mlp", "mlp.width": 64}}`` → ``{"architecture": {"name": "mlp", "width": 64}}``."""
    config = dict(config)
    for key in CONFIG_KEY.values():
        block = config.get(key)
        if isinstance(block, dict) and "name" in block:
            prefix = f"{block['name']}."
            config[key] = {k[len(prefix):] if k.startswith(prefix) else k: v for k, v in block.items()}
    return config


DEFAULT_SPACE = "default"
# YAML files of search_spaces/ that are not search spaces (the portfolio: automl/portfolio.py).
NOT_SPACES = ("portfolio.yaml",)
# The space ``default`` stands for, per input kind: search_spaces/<name>.yaml (tables: default.yaml).
INPUT_KIND_SPACES = {"sequence": "sequence", "image": "image", "text": "text"}


def space_for_input_kind(name_or_path: str | Path, input_kind: str) -> str | Path:
    """The space a search uses: ``default`` follows the input kind (``sequence.yaml`` for
    sequences, ``image.yaml`` for images, ``text.yaml`` for text, ``default.yaml`` for tables);
    any other name or path is used as given."""
    if isinstance(name_or_path, str) and name_or_path == DEFAULT_SPACE:
        return INPUT_KIND_SPACES.get(input_kind, DEFAULT_SPACE)
    return name_or_path


def find_space_file(name_or_path: str | Path) -> Path:
    """A path to a YAML file, or the name of one in ``search_spaces/`` (``default``, ``quick``)."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise AutoMLError(f"search space file {path} does not exist", "pass an existing YAML file")
        return path
    for folder in space_folders():
        candidate = folder / f"{name_or_path}.yaml"
        if candidate.is_file() and candidate.name not in NOT_SPACES:
            return candidate
    known = sorted({p.stem for folder in space_folders() for p in folder.glob("*.yaml") if p.name not in NOT_SPACES})
    raise AutoMLError(f"unknown search space '{name_or_path}'", f"use one of {', '.join(known)} or a YAML path")


def space_folders() -> list[Path]:
    """The folders holding the shipped YAML files: ``search_spaces/`` (installed as ``automl_search_spaces``)."""
    folders = [Path(__file__).resolve().parent.parent / "search_spaces"]
    try:
        import automl_search_spaces

        folders.append(Path(automl_search_spaces.__file__).parent)
    except ImportError:
        pass
    return [f for f in folders if f.is_dir()]


@dataclass(frozen=True)
class SpaceSource:
    """Where a space came from, and the line of each key, for errors that point into the file."""

    path: str = "search space"
    lines: Mapping[tuple, int] = field(default_factory=dict)

    def at(self, *keys: Any) -> str:
        """``"space.yaml, line 7 (optimizers.adam.lr)"`` for the deepest key path that has a line."""
        keys = tuple(str(k) for k in keys)
        for depth in range(len(keys), 0, -1):
            if keys[:depth] in self.lines:
                return f"{self.path}, line {self.lines[keys[:depth]]} ({'.'.join(keys)})"
        return f"{self.path} ({'.'.join(keys)})" if keys else self.path

    def __str__(self) -> str:
        return self.path


def _key_lines(node, prefix: tuple = ()) -> dict[tuple, int]:
    lines: dict[tuple, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            path = (*prefix, str(key_node.value))
            lines[path] = key_node.start_mark.line + 1
            lines.update(_key_lines(value_node, path))
    return lines


def load_space_file(name_or_path: str | Path) -> tuple[dict, SpaceSource]:
    """Read a space YAML file (safely) with the line of every key."""
    path = find_space_file(name_or_path)
    text = path.read_text()
    try:
        data = yaml.safe_load(text) or {}
        lines = _key_lines(yaml.compose(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise AutoMLError(f"search space {path}{where} is not valid YAML: {problem}", "fix the YAML syntax") from None
    if not isinstance(data, dict):
        raise AutoMLError(f"search space {path} must be a mapping", "start the file with keys such as epochs:")
    return data, SpaceSource(str(path), lines)


def build_search_space(
    registry, spec: Mapping[str, Any], task: str, input_kind: str, source: SpaceSource | str | None = None
) -> SearchSpace:
    """Resolve a YAML space against the registry for one task and input kind."""
    if not isinstance(source, SpaceSource):
        source = SpaceSource(str(source or "search space"))
    for key in spec:
        if key not in TOP_LEVEL_KEYS:
            raise AutoMLError(f"{source.at(key)}: unknown key '{key}'", f"use only {', '.join(TOP_LEVEL_KEYS)}")
    space = SearchSpace(epochs=spec.get("epochs", 20), batch_size=spec.get("batch_size", 64), source=str(source))
    validate_domain(space.epochs, source.at("epochs"))
    validate_domain(space.batch_size, source.at("batch_size"))
    space.min_steps_per_epoch = _positive_constant(spec.get("min_steps_per_epoch", MIN_STEPS_PER_EPOCH), source.at("min_steps_per_epoch"))
    if spec.get("preprocessing") and input_kind == "tabular":
        from automl.variants import preprocessing_options

        space.preprocessing = preprocessing_options(spec["preprocessing"], source.at("preprocessing"))
    for family in FAMILIES:
        block = spec.get(family) or {}
        if not isinstance(block, Mapping):
            raise AutoMLError(f"{source.at(family)}: '{family}' must be a mapping", f"write {family}: {{include: [..]}}")
        space.components[family] = _resolve_family(registry, family, block, task, input_kind, source)
    return space


def _positive_constant(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise AutoMLError(f"{where}: must be a whole number of optimizer steps, at least 1 (got {value!r})",
                          "write e.g. min_steps_per_epoch: 32 (1: an epoch is always one pass)")
    return value


def _resolve_family(registry, family, block, task, input_kind, source: SpaceSource) -> dict[str, dict[str, Any]]:
    """The offered components of one family, keyed by the names configs use (``Component.key``).

    A name in the block may be bare or qualified (``package:name``, to pick one of two
    same-named components); both forms of one component's name mean the same component.
    """
    singular = SINGULAR[family]
    overrides: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for key, value in block.items():
        if key in FAMILY_KEYS:
            if not isinstance(value, (list, tuple)):
                raise AutoMLError(f"{source.at(family, key)}: must be a list", f"write {family}.{key}: [name, ...]")
            for name in value:
                _known(registry, family, name, source.at(family, key))
        else:
            component = _known(registry, family, key, source.at(family, key))
            if not isinstance(value, Mapping):
                raise AutoMLError(f"{source.at(family, key)}: must be a mapping of hyperparameters", "write name: {param: domain}")
            overrides[component.key] = (key, value)
    include = block.get("include")
    exclude = {registry.get(family, name).key for name in block.get("exclude") or ()}
    candidates = [registry.get(family, name) for name in include] if include is not None else registry.list(family)
    chosen: dict[str, dict[str, Any]] = {}
    for component in candidates:
        if component.key in exclude:
            continue
        if not component.fits(task, input_kind):
            if include is not None and family == "regularizers":
                raise AutoMLError(
                    f"{source.at(family, 'include')}: regularizer '{component.key}' does not fit task '{task}' "
                    f"with {input_kind} input (it supports tasks {', '.join(component.spec.tasks)}; "
                    f"input kinds {', '.join(component.spec.input_kinds)})",
                    f"remove '{component.key}' from {family}.include",
                )
            continue
        params = copy.deepcopy(dict(component.spec.space))
        written, block_overrides = overrides.get(component.key, (component.key, {}))
        for param, value in dict(block_overrides).items():
            if param != "enabled" and param not in params:
                allowed = ", ".join(params) or "none"
                raise AutoMLError(
                    f"{source.at(family, written, param)}: not a hyperparameter of {singular} '{component.key}'",
                    f"use one of: {allowed}",
                )
            validate_domain(value, source.at(family, written, param))
            params[param] = value
        if family == "regularizers":
            params = {"enabled": params.pop("enabled", {"choice": [False, True]}), **params}
        chosen[component.key] = params
    if not chosen and family != "regularizers":
        raise AutoMLError(
            f"{source.at(family)}: no {singular} fits task '{task}' with {input_kind} input",
            f"include a {singular} that supports it (see `automl plugins`)",
        )
    return chosen


def _known(registry, family: str, name: str, where: str):
    component = registry.find(family, name)
    if component is None:
        known = ", ".join(sorted(registry.components[family])) or "none"
        raise AutoMLError(
            f"{where}: unknown {SINGULAR[family]} '{name}'",
            f"use one of: {known} (or install the plugin that provides it)",
        )
    return component
