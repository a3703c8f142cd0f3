"""What a saved model needs of the installed plugins: recorded when it is saved, checked and
loaded (and nothing else) when it is used.

``model.json`` keeps, under ``"plugins"``, one record per component the model was trained
with: the name its config uses, its qualified name, the plugin (entry point), the package
(distribution) and version that provided it, and whether prediction needs it. Prediction
needs the architecture and the regularizers that shape the network (see
:class:`automl.components.Regularizer`); losses, optimizers and training-only regularizers are
recorded for the record's sake only. ``predict``, ``export`` and ``serve`` import just the
plugins the needed components come from, so another package that is broken, clashing or
missing does not stand in the way.
"""

from __future__ import annotations

import importlib.metadata
import warnings
from typing import Any, Mapping

from automl.components import needed_to_predict
from automl.errors import AutoMLError, AutoMLWarning
from automl.training.building import call_builder, split_params
from automl.training.records import Components

RECORD_KEY = "plugins"
BUILTIN_TASKS_PLUGIN = "tasks"  # the core's entry point whose automl_tasks hook gives the built-in tasks
FAMILY_OF = {"architecture": "architectures", "loss": "losses", "optimizer": "optimizers"}


class PluginVersionWarning(AutoMLWarning):
    """A saved model's plugin is installed in another version than the one it was trained with."""


def member_configs(config: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The trial configs a model is built from: one, or each member of an ensemble."""
    if "ensemble" in config:
        return [member["config"] for member in config["ensemble"]]
    return [config]


def plugin_record(config: Mapping[str, Any], components: Components, facts: Mapping[str, Any]) -> list[dict] | None:
    """The ``"plugins"`` record of a model trained with ``config``; ``None`` when ``components``
    do not say where they came from (built by hand, not from a registry)."""
    if not components.sources:
        return None
    record: dict[tuple[str, str], dict] = {}
    for member in member_configs(config):
        for key, family in FAMILY_OF.items():
            if key in member:
                name, _ = split_params(member[key])
                record.setdefault((family, name), _entry(components, family, name, family == "architectures"))
        for name, block in (member.get("regularizers") or {}).items():
            params = dict(block)
            if params.pop("enabled", False):
                needed = _regularizer_needed(components.spec("regularizers", name), params, facts)
                entry = record.setdefault(("regularizers", name), _entry(components, "regularizers", name, needed))
                entry["needed_to_predict"] = entry["needed_to_predict"] or needed
    return list(record.values())


def _regularizer_needed(spec, params: Mapping[str, Any], facts: Mapping[str, Any]) -> bool:
    try:
        regularizer = call_builder(spec.build, (), params, facts)
    except Exception:  # a builder that cannot run here is kept: the safe side
        return True
    return needed_to_predict(regularizer)


def _entry(components: Components, family: str, name: str, needed: bool) -> dict:
    source = components.sources[family][name]
    return {
        "family": family, "name": name, "component": source.qualified_name, "plugin": source.plugin,
        "package": source.package, "version": source.version, "needed_to_predict": bool(needed),
    }


def prediction_components(info: Mapping[str, Any], disabled=(), registry=None) -> tuple[Components, Mapping[str, Any], Any]:
    """The components a saved model (its ``model.json`` as ``info``) needs to predict, its
    config without the training-only regularizers, and its task (:class:`automl.tasks.base.Task`).

    Loads only the plugins those components come from and the core's tasks plugin (unless a
    ``registry`` is given; a task from another plugin loads every plugin to find it); a model
    saved before this record existed loads every installed plugin, as it was trained.
    """
    from automl.registry import CORE_DISTRIBUTION, load_registry

    config = info["config"]
    record = info.get(RECORD_KEY)
    if record is None:
        registry = registry or load_registry(disabled=disabled)
        return _components_by_name(registry, member_configs(config)), config, registry.task(info["task"])
    needed = [entry for entry in record if entry["needed_to_predict"]]
    if registry is None:
        for entry in needed:
            _check_available(entry, disabled)
        only = {(e["package"], e["plugin"]) for e in needed} | {(CORE_DISTRIBUTION, BUILTIN_TASKS_PLUGIN)}
        registry = load_registry(disabled=disabled, only=only)
        if info["task"] not in registry.tasks:
            registry = load_registry(disabled=disabled)
    specs: dict[str, dict[str, Any]] = {"architectures": {}, "regularizers": {}}
    for entry in needed:
        component = registry.find(entry["family"], entry["component"])
        if component is None:
            raise _missing(entry, f"{entry['package']} {_installed_version(entry['package']) or ''}".strip()
                           + f" does not provide {_what(entry)}")
        specs[entry["family"]][entry["name"]] = component.spec
    keep = set(specs["regularizers"])
    return Components(specs), _without_training_only(config, keep), registry.task(info["task"])


def _components_by_name(registry, configs) -> Components:
    names: dict[str, set] = {"architectures": set(), "regularizers": set()}
    for member in configs:
        names["architectures"].add(member["architecture"]["name"])
        names["regularizers"].update(n for n, block in (member.get("regularizers") or {}).items() if block.get("enabled"))
    return Components.of(registry, {family: sorted(found) for family, found in names.items()})


def _without_training_only(config: Mapping[str, Any], keep: set[str]) -> dict:
    def strip(member: Mapping[str, Any]) -> dict:
        regularizers = {n: b for n, b in (member.get("regularizers") or {}).items() if n in keep or not b.get("enabled")}
        return {**member, "regularizers": regularizers}

    if "ensemble" in config:
        return {**config, "ensemble": [{**m, "config": strip(m["config"])} for m in config["ensemble"]]}
    return strip(config)


def _what(entry: Mapping[str, Any]) -> str:
    singular = entry["family"][:-1] if entry["family"] != "losses" else "loss"
    return f"{singular} '{entry['component']}' (plugin '{entry['plugin']}')"


def _installed_version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _missing(entry: Mapping[str, Any], problem: str) -> AutoMLError:
    return AutoMLError(
        f"this model needs {_what(entry)} from {entry['package']} {entry['version']}, but {problem}",
        f"pip install '{entry['package']}=={entry['version']}'",
    )


def _check_available(entry: Mapping[str, Any], disabled) -> None:
    from automl.registry import PluginInfo

    package = entry["package"]
    if package in ("-", "?"):
        raise AutoMLError(
            f"this model needs {_what(entry)}, which was registered in code, not installed",
            "pass load(path, registry=load_registry(extra_plugins=[...])) with that plugin",
        )
    if PluginInfo(entry["plugin"], "", package, "").matches(disabled):
        raise AutoMLError(
            f"this model needs {_what(entry)} from {package}, which --disable-plugin skips",
            f"drop --disable-plugin for {package} (the model cannot predict without it)",
        )
    installed = _installed_version(package)
    if installed is None:
        raise _missing(entry, f"{package} is not installed")
    if installed != entry["version"]:
        warnings.warn(
            f"this model was trained with {package} {entry['version']}; {installed} is installed "
            f"(pip install '{package}=={entry['version']}' for the same code)",
            PluginVersionWarning, stacklevel=3,
        )
