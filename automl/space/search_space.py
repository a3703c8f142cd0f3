"""The resolved search space, and its two forms for the searchers: Ray Tune's conditional
``param_space`` and the Optuna define-by-run function (with the flat parameter names it uses)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from automl.space.domains import is_domain, suggest, to_tune, to_tune_grid

# The budget unit: an epoch is one pass over the training rows, or on small data as many passes
# as make this many optimizer steps (so 42 rows do not mean a first ASHA rung after two steps).
MIN_STEPS_PER_EPOCH = 32
CONFIG_KEY = {"architectures": "architecture", "losses": "loss", "optimizers": "optimizer"}


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
