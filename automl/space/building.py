"""A YAML space resolved against the plugin registry for one task and input kind: the keys
checked, each family's offered components chosen, their spaces overridden by the file's."""

from __future__ import annotations

import copy
from typing import Any, Mapping

from automl.components import FAMILIES, SINGULAR
from automl.errors import AutoMLError
from automl.space.domains import validate_domain
from automl.space.loading import SpaceSource
from automl.space.search_space import MIN_STEPS_PER_EPOCH, SearchSpace

TOP_LEVEL_KEYS = ("epochs", "min_steps_per_epoch", "batch_size", "preprocessing", *FAMILIES)
FAMILY_KEYS = ("include", "exclude")


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
