"""The plugin registry: loads the ``automl`` entry-point group through pluggy and knows every
component, the plugin and package it came from, and where it fits.

Built-in components arrive through the same entry points as third-party ones; nothing here
imports a component by name.
"""

from __future__ import annotations

import fnmatch
import importlib.metadata
from dataclasses import dataclass, field
from typing import Any, Iterable

import pluggy

from automl import hookspecs
from automl.components import FAMILIES, SINGULAR, Component
from automl.errors import AutoMLError

ENTRY_POINT_GROUP = "automl"


@dataclass(frozen=True)
class PluginInfo:
    """One loaded plugin: its entry point name, the target it points at, and its package."""

    name: str
    entry_point: str
    package: str
    version: str


@dataclass
class Registry:
    """Every component of every loaded plugin, by family and name."""

    plugins: list[PluginInfo] = field(default_factory=list)
    components: dict[str, dict[str, Component]] = field(
        default_factory=lambda: {family: {} for family in FAMILIES}
    )
    # Tasks (the ``automl_tasks`` hook): not a search dimension, so kept apart from the families.
    tasks: dict[str, Any] = field(default_factory=dict)
    task_plugins: dict[str, str] = field(default_factory=dict)

    def task(self, name: str) -> Any:
        """The task registered as ``name`` (an :class:`automl.tasks.base.Task`), or a clear error."""
        try:
            return self.tasks[name]
        except KeyError:
            raise AutoMLError(
                f"unknown task '{name}'",
                f"use one of: {', '.join(sorted(self.tasks)) or 'none'} (or install the plugin that provides it)",
            ) from None

    def get(self, family: str, name: str) -> Component:
        """The component ``name`` of ``family``, or a clear error listing what exists."""
        try:
            return self.components[family][name]
        except KeyError:
            known = ", ".join(sorted(self.components.get(family, {}))) or "none"
            raise AutoMLError(
                f"unknown {SINGULAR[family]} '{name}'",
                f"use one of: {known} (or install the plugin that provides it)",
            ) from None

    def list(
        self,
        family: str | None = None,
        pattern: str = "*",
        task: str | None = None,
        input_kind: str | None = None,
    ) -> list[Component]:
        """Components matching a family, a wildcard pattern and (optionally) a task and input kind."""
        families = [family] if family else list(FAMILIES)
        found = []
        for fam in families:
            for name, component in sorted(self.components[fam].items()):
                if not fnmatch.fnmatch(name, pattern):
                    continue
                if task and input_kind and not component.fits(task, input_kind):
                    continue
                found.append(component)
        return found


def create_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    return pm


def load_registry(
    disabled: Iterable[str] = (), extra_plugins: Iterable[tuple[str, Any]] = ()
) -> Registry:
    """Load every plugin of the ``automl`` entry-point group and collect their components.

    :param disabled: plugin (entry point) names to skip, e.g. a broken third-party one.
    :param extra_plugins: ``(name, module_or_object)`` pairs registered as well; for plugins
        that are not installed as packages (notebooks, tests).
    """
    disabled = set(disabled)
    pm = create_plugin_manager()
    registry = Registry()
    for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if ep.name in disabled:
            continue
        dist = ep.dist
        info = PluginInfo(
            name=ep.name,
            entry_point=f"{ep.name} = {ep.value}",
            package=dist.metadata["Name"] if dist else "?",
            version=dist.version if dist else "?",
        )
        try:
            plugin = ep.load()
        except Exception as exc:
            raise AutoMLError(
                f"plugin '{info.name}' (entry point '{info.entry_point}' of package "
                f"{info.package}) failed to import: {type(exc).__name__}: {exc}",
                f"fix or reinstall {info.package}, or skip it with --disable-plugin {info.name}",
            ) from exc
        _register(pm, registry, plugin, info)
    for name, plugin in extra_plugins:
        _register(pm, registry, plugin, PluginInfo(name, f"{name} (registered in code)", "-", "-"))
    return registry


def _register(pm: pluggy.PluginManager, registry: Registry, plugin: Any, info: PluginInfo) -> None:
    def fail(problem: str, fix: str) -> AutoMLError:
        return AutoMLError(
            f"plugin '{info.name}' (entry point '{info.entry_point}'): {problem}",
            f"{fix}, or skip it with --disable-plugin {info.name}",
        )

    try:
        pm.register(plugin, name=info.name)
    except pluggy.PluginValidationError as exc:
        raise fail(f"invalid hook implementation: {exc}", "match a hook in automl/hookspecs.py") from exc
    registry.plugins.append(info)
    for family, spec_type in FAMILIES.items():
        hook = getattr(pm.hook, f"automl_{family}")
        for impl in hook.get_hookimpls():
            if impl.plugin_name != info.name:
                continue
            for spec in _hook_result(impl, family, fail):
                _add_component(registry, family, spec_type, spec, info, fail)
    for impl in pm.hook.automl_tasks.get_hookimpls():
        if impl.plugin_name == info.name:
            for task in _hook_result(impl, "tasks", fail):
                _add_task(registry, task, info, fail)


def _hook_result(impl, family: str, fail) -> list:
    try:
        found = impl.function()
    except Exception as exc:
        raise fail(f"automl_{family}() raised {type(exc).__name__}: {exc}", "fix the hook") from exc
    if not isinstance(found, (list, tuple)):
        raise fail(f"automl_{family}() returned {type(found).__name__}", "return a list")
    return list(found)


def _add_task(registry: Registry, task: Any, info: PluginInfo, fail) -> None:
    name = getattr(task, "name", None)
    if not isinstance(name, str) or not name or not callable(getattr(task, "ranking", None)):
        raise fail(f"automl_tasks() returned a {type(task).__name__}", "return automl.tasks.base.Task instances with a name")
    if name in registry.tasks:
        raise fail(f"task '{name}' is already registered by plugin '{registry.task_plugins[name]}'", "give the task another name")
    registry.tasks[name] = task
    registry.task_plugins[name] = info.name


def _add_component(registry, family, spec_type, spec, info, fail) -> None:
    from automl.space import validate_component_space

    if not isinstance(spec, spec_type):
        raise fail(
            f"automl_{family}() returned a {type(spec).__name__}",
            f"return automl.components.{spec_type.__name__} records",
        )
    if not callable(spec.build):
        raise fail(f"{SINGULAR[family]} '{spec.name}' has a build that is not callable", "pass a function")
    existing = registry.components[family].get(spec.name)
    if existing is not None:
        raise fail(
            f"{SINGULAR[family]} '{spec.name}' is already registered by plugin '{existing.plugin}'",
            "give the component another name",
        )
    try:
        validate_component_space(spec.space)
    except AutoMLError as exc:
        raise fail(f"{SINGULAR[family]} '{spec.name}' declares an invalid space: {exc.problem}", exc.fix) from exc
    registry.components[family][spec.name] = Component(
        family=family, spec=spec, plugin=info.name, package=info.package, version=info.version
    )
