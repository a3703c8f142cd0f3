"""The portfolio: strong configurations that every search tries first, before its searcher explores.

``search_spaces/portfolio.yaml`` lists, per input kind and task (``classification`` stands for
binary and multiclass), a few trial configurations in the nested form trials read, chosen on
development datasets by ``bench/portfolio.py`` (bench/RESULTS.md says how). An entry names its
components and the hyperparameters that matter; the resolved space of the search fills in the
rest (:func:`complete_entry`):

- a hyperparameter the entry leaves out takes its domain's canonical value: a constant, a
  choice's first value, the (geometric, for log domains) middle of a range;
- a regularizer the entry lists is on with the entry's values; one it does not list is off,
  unless the space forces it on;
- ``epochs`` is the space's (its largest value when the space searches it).

An entry whose component the space does not offer (the user's YAML excludes it, or the plugin
is not installed), or whose value lies outside the space's domain, is dropped, with the reason
(:attr:`Portfolio.dropped`). The engine hands the entries to Ray Tune's ``points_to_evaluate``
(random search: whole configs; Optuna: the flat parameter names of
:meth:`automl.space.SearchSpace.define_by_run`), cut to the trial count, first entries first.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from automl.components import SINGULAR
from automl.errors import AutoMLError
from automl.space import CONFIG_KEY, SearchSpace, is_domain

PORTFOLIO_FILE = "portfolio.yaml"
ENTRY_KEYS = ("name", "batch_size", "epochs", "preprocessing", "architecture", "loss", "optimizer", "regularizers")


def task_group(task: str, registry=None) -> str:
    """The portfolio's key for a task: its ``portfolio_group`` (``classification`` for binary
    and multiclass), from ``registry`` or the installed plugins."""
    from automl.registry import load_registry

    return (registry or load_registry()).task(task).portfolio_group


@dataclass
class Portfolio:
    """The entries of one search: complete trial configs in order, and what was dropped and why."""

    configs: list[dict] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # "tabm_default: architecture 'tabm' is not in the space"

    def first(self, num_trials: int | None) -> "Portfolio":
        """The entries a search of ``num_trials`` trials (``None`` or negative: unlimited) runs."""
        if num_trials is None or num_trials < 0:
            return self
        return Portfolio(self.configs[:num_trials], self.names[:num_trials], self.dropped)

    def summary(self) -> str:
        """One line for the screen and the log: what runs first, and what was dropped."""
        if not self.configs and not self.dropped:
            return ""
        line = f"portfolio: {len(self.configs)} configuration(s) first ({', '.join(self.names) or 'none'})"
        if self.dropped:
            line += f"; dropped {len(self.dropped)}: " + "; ".join(self.dropped)
        return line


def portfolio_path() -> Path:
    """The shipped portfolio file (``search_spaces/portfolio.yaml``, installed as ``automl_search_spaces``)."""
    from automl.space import space_folders

    for folder in space_folders():
        if (folder / PORTFOLIO_FILE).is_file():
            return folder / PORTFOLIO_FILE
    raise AutoMLError(f"no {PORTFOLIO_FILE} in the search_spaces package", "reinstall automl-torch")


def load_portfolio(path: str | Path | None = None) -> dict:
    """``{input_kind: {task group: [entry, ...]}}`` from the portfolio file."""
    path = Path(path) if path is not None else portfolio_path()
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise AutoMLError(f"{path} must be a mapping of input kinds", "write tabular: {classification: [...]}")
    return data


def resolve_portfolio(
    space: SearchSpace, task: str, input_kind: str, seed: int = 0, entries: list | None = None, registry=None,
) -> Portfolio:
    """The portfolio entries for ``task`` and ``input_kind`` that fit ``space``, completed.

    ``entries`` defaults to the shipped file's; ``registry`` (optional) tells a component that
    is not installed from one the space excludes, for the message.
    """
    if entries is None:
        entries = load_portfolio().get(input_kind, {}).get(task_group(task, registry), []) or []
    portfolio = Portfolio()
    for index, entry in enumerate(entries):
        name = str(entry.get("name", f"entry {index + 1}"))
        try:
            config = complete_entry(entry, space, seed, registry)
        except EntryDoesNotFit as reason:
            portfolio.dropped.append(f"{name}: {reason}")
            continue
        portfolio.configs.append(config)
        portfolio.names.append(name)
    return portfolio


class EntryDoesNotFit(ValueError):
    """A portfolio entry that the resolved space cannot run (the message says why)."""


def complete_entry(entry: Mapping[str, Any], space: SearchSpace, seed: int = 0, registry=None) -> dict:
    """The full trial config of a portfolio entry in ``space``; raises :class:`EntryDoesNotFit`."""
    unknown = set(entry) - set(ENTRY_KEYS)
    if unknown:
        raise EntryDoesNotFit(f"unknown key(s) {', '.join(sorted(unknown))}")
    config: dict[str, Any] = {"seed": seed}
    config["epochs"] = _fixed(entry, "epochs", space.epochs, "epochs", default=space.max_epochs())
    config["batch_size"] = _fixed(entry, "batch_size", space.batch_size, "batch_size")
    config["min_steps_per_epoch"] = space.min_steps_per_epoch
    for family, key in CONFIG_KEY.items():
        offered = space.components[family]
        block = dict(entry.get(key) or {})
        name = block.pop("name", None) or next(iter(offered))
        if name not in offered:
            raise EntryDoesNotFit(_missing(registry, family, name))
        config[key] = {"name": name, **_params(block, offered[name], f"{key} '{name}'")}
    if space.preprocessing:
        chosen = dict(entry.get("preprocessing") or {})
        config["preprocessing"] = {}
        for option, values in space.preprocessing.items():
            value = chosen.pop(option, values[0])
            if value not in values:
                raise EntryDoesNotFit(f"preprocessing {option} '{value}' is not one of {values}")
            config["preprocessing"][option] = value
        if chosen:
            raise EntryDoesNotFit(f"preprocessing {', '.join(chosen)} is not searched by the space")
    listed = dict(entry.get("regularizers") or {})
    config["regularizers"] = {}
    for name, params in space.components["regularizers"].items():
        wanted = listed.pop(name, None)
        enabled_domain = params["enabled"]
        if wanted is None:
            enabled = False if _contains(enabled_domain, False) else True
            values = {}
        else:
            wanted = dict(wanted)
            enabled = wanted.pop("enabled", True)
            values = wanted
            if not _contains(enabled_domain, enabled):
                raise EntryDoesNotFit(f"regularizer '{name}' cannot be {'on' if enabled else 'off'} in the space")
        rest = {k: v for k, v in params.items() if k != "enabled"}
        config["regularizers"][name] = {"enabled": enabled, **(_params(values, rest, f"regularizer '{name}'") if enabled else {})}
    if listed:
        raise EntryDoesNotFit(_missing(registry, "regularizers", next(iter(listed))))
    return config


def _missing(registry, family: str, name: str) -> str:
    if registry is not None and registry.find(family, name) is None:
        return f"{SINGULAR[family]} '{name}' is not installed"
    return f"{SINGULAR[family]} '{name}' is not in the space"


def _fixed(entry: Mapping, key: str, domain: Any, where: str, default: Any = None) -> Any:
    if key in entry:
        value = entry[key]
        if not _contains(domain, value):
            raise EntryDoesNotFit(f"{where} {value!r} is outside the space's {_shown(domain)}")
        return value
    return canonical(domain) if default is None else default


def _params(values: Mapping[str, Any], domains: Mapping[str, Any], where: str) -> dict:
    unknown = set(values) - set(domains)
    if unknown:
        raise EntryDoesNotFit(f"{where} has no hyperparameter {', '.join(sorted(unknown))}")
    params = {}
    for param, domain in domains.items():
        if param in values:
            if not _contains(domain, values[param]):
                raise EntryDoesNotFit(f"{where}: {param} {values[param]!r} is outside the space's {_shown(domain)}")
            params[param] = values[param]
        else:
            params[param] = canonical(domain)
    return params


def canonical(domain: Any) -> Any:
    """The value an entry takes where it says nothing: a constant itself, a choice's first value,
    a range's middle (geometric for log ranges), on the domain's step."""
    if not is_domain(domain):
        return copy.deepcopy(domain)
    kind, args = next(iter(domain.items()))
    if kind in ("choice", "grid"):
        return args[0]
    low, high = args[0], args[1]
    middle = math.sqrt(low * high) if "log" in kind else (low + high) / 2
    if kind == "randint":
        return int(low + (high - 1 - low) // 2)
    if kind.startswith("q"):
        step = args[2]
        value = low + round((middle - low) / step) * step
        return int(value) if kind == "qrandint" else float(value)
    return float(middle)


def _contains(domain: Any, value: Any) -> bool:
    if not is_domain(domain):
        return _same(domain, value)
    kind, args = next(iter(domain.items()))
    if kind in ("choice", "grid"):
        return any(_same(option, value) for option in args)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    low, high = args[0], args[1]
    tolerance = 1e-9 * max(abs(low), abs(high), 1.0)
    if kind == "randint":
        return float(value).is_integer() and low <= value < high
    if not low - tolerance <= value <= high + tolerance:
        return False
    if kind in ("quniform", "qrandint"):
        steps = (value - low) / args[2]
        return abs(steps - round(steps)) < 1e-6
    if kind == "qloguniform":
        steps = value / args[2]
        return abs(steps - round(steps)) < 1e-6
    return True


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-9)
    return a == b


def _shown(domain: Any) -> str:
    if not is_domain(domain):
        return f"constant {domain!r}"
    kind, args = next(iter(domain.items()))
    return f"{kind} {list(args)}"
