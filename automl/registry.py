"""The plugin registry: loads the ``automl`` entry-point group through pluggy and knows every
component, the plugin and package it came from, and where it fits.

Built-in components arrive through the same entry points as third-party ones; nothing here
imports a component by name.

Names: every component has a qualified name ``package:name``, where ``package`` is the
distribution that installed it (``automl-torch:focal``, ``my-plugins:focal``). A bare name
resolves when one package provides it; when several do, the clash is a warning, never a stop,
and the bare name means the core distribution's component (else the first package in
alphabetical order), while the others keep their qualified names. See "Names" in
``automl/hookspecs.py`` for why the distribution is the namespace.
"""

from __future__ import annotations

import fnmatch
import importlib.metadata
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Mapping

import pluggy

from automl import hookspecs
from automl.components import FAMILIES, SINGULAR, Component
from automl.errors import AutoMLError, AutoMLWarning

ENTRY_POINT_GROUP = "automl"
# The distribution of the platform itself: its components keep their bare names in a clash.
CORE_DISTRIBUTION = "automl-torch"


class PluginClashWarning(AutoMLWarning):
    """Two packages provide a component of the same family under the same bare name."""


def canonical_package(name: str) -> str:
    """A distribution name as package indexes compare them (PEP 503): ``My_Plugins`` → ``my-plugins``."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class PluginInfo:
    """One loaded plugin: its entry point name, the target it points at, and its package."""

    name: str
    entry_point: str
    package: str
    version: str

    @property
    def qualified_name(self) -> str:
        """``package:entry_point_name``, unique in an environment (pluggy registers it so)."""
        return f"{self.package}:{self.name}"

    def matches(self, names: Iterable[str]) -> bool:
        """Whether ``--disable-plugin`` names it: by entry point, package, or ``package:entry_point``."""
        package = canonical_package(self.package)
        for name in names:
            left, sep, right = name.partition(":")
            if sep and canonical_package(left) == package and right == self.name:
                return True
            if not sep and (name == self.name or canonical_package(name) == package):
                return True
        return False


@dataclass
class Registry:
    """Every component of every loaded plugin, by family and by the name configs use (its
    :attr:`Component.key`: the bare name, or the qualified one when it lost a clash)."""

    plugins: list[PluginInfo] = field(default_factory=list)
    components: dict[str, dict[str, Component]] = field(
        default_factory=lambda: {family: {} for family in FAMILIES}
    )
    clashes: list[str] = field(default_factory=list)
    _qualified: dict[str, dict[str, Component]] = field(
        default_factory=lambda: {family: {} for family in FAMILIES}, repr=False
    )
    # Tasks (the ``automl_tasks`` hook): not a search dimension, so kept apart from the families.
    tasks: dict[str, Any] = field(default_factory=dict)
    task_plugins: dict[str, str] = field(default_factory=dict)
    # Tasks registered elsewhere (the installed ones, for a plugin checked alone): components
    # may be offered for them and the plugin checks read their contracts; they are not listed.
    known_tasks: dict[str, Any] = field(default_factory=dict)

    def every_task(self) -> dict[str, Any]:
        """The known tasks, then the registered ones (which win), by name."""
        return {**self.known_tasks, **self.tasks}

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
        """The component ``name`` (bare or ``package:name``) of ``family``, or a clear error listing what exists."""
        found = self.find(family, name)
        if found is None:
            known = ", ".join(sorted(self.components.get(family, {}))) or "none"
            raise AutoMLError(
                f"unknown {SINGULAR[family]} '{name}'",
                f"use one of: {known} (or install the plugin that provides it)",
            )
        return found

    def find(self, family: str, name: str) -> Component | None:
        """Like :meth:`get`, but ``None`` for an unknown name."""
        namespace, sep, bare = str(name).partition(":")
        if sep:
            return self._qualified.get(family, {}).get(f"{canonical_package(namespace)}:{bare}")
        return self.components.get(family, {}).get(name)

    def list(
        self,
        family: str | None = None,
        pattern: str = "*",
        task: str | None = None,
        input_kind: str | None = None,
    ) -> list[Component]:
        """Components matching a family, a wildcard pattern (on the bare or the qualified name)
        and (optionally) a task and input kind."""
        families = [family] if family else list(FAMILIES)
        found = []
        for fam in families:
            for key, component in sorted(self.components[fam].items()):
                names = (key, component.name, component.qualified_name)
                if not any(fnmatch.fnmatch(n, pattern) for n in names):
                    continue
                if task and input_kind and not component.fits(task, input_kind):
                    continue
                found.append(component)
        return found

    def add(self, component: Component) -> Component | None:
        """Add a component under its qualified name; return the one already there, if any."""
        index = self._qualified[component.family]
        qualified = f"{canonical_package(component.namespace)}:{component.name}"
        if qualified in index:
            return index[qualified]
        index[qualified] = component
        return None

    def settle_names(self) -> None:
        """Give every component the name configs use and, where it names no tasks, the tasks
        that take unmarked components (``Task.takes_unmarked_components``); add to the tasks of
        an architecture or regularizer those that take the components of one it claims
        (``Task.takes_components_of``); warn once per clash of bare names."""
        tasks = self.every_task()
        unmarked = tuple(name for name, task in tasks.items() if getattr(task, "takes_unmarked_components", False))
        for family, index in self._qualified.items():
            for qualified, component in index.items():
                claimed = getattr(component.spec, "tasks", ())
                if claimed is None:
                    claimed = unmarked
                if family in SHARED_FAMILIES:
                    claimed = _with_sharing_tasks(claimed, tasks)
                if claimed != getattr(component.spec, "tasks", ()):
                    index[qualified] = replace(component, spec=replace(component.spec, tasks=claimed))
        for family, index in self._qualified.items():
            by_name: dict[str, list[Component]] = {}
            for component in index.values():
                by_name.setdefault(component.name, []).append(component)
            self.components[family] = {}
            for name, group in by_name.items():
                group.sort(key=lambda c: (canonical_package(c.namespace) != CORE_DISTRIBUTION, canonical_package(c.namespace)))
                for position, component in enumerate(group):
                    key = name if position == 0 else component.qualified_name
                    settled = replace(component, key=key)
                    index[f"{canonical_package(component.namespace)}:{name}"] = settled
                    self.components[family][key] = settled
                if len(group) > 1:
                    self.clashes.append(_clash_message(family, name, group))


# The families a task may take from another task (``Task.takes_components_of``): their
# components shape or train the network whatever its outputs mean. Losses are not shared:
# a loss is what a task's outputs are trained to mean.
SHARED_FAMILIES = ("architectures", "regularizers")


def _with_sharing_tasks(claimed: tuple[str, ...], tasks: Mapping[str, Any]) -> tuple[str, ...]:
    """``claimed`` and every task whose ``takes_components_of`` names one of ``claimed``."""
    sharing = [name for name, task in tasks.items()
               if name not in claimed and set(getattr(task, "takes_components_of", ())) & set(claimed)]
    return (*claimed, *sharing)


class RegisteredNames(Sequence):
    """Names the installed plugins' registry gives, read each time they are asked for (``in``,
    iteration): the choices of ``--task``, ``--metric`` and ``space show --task``. Building a
    parser never asks, so ``automl --help`` loads no plugin; parsing a value or printing a
    command's usage does. When the plugins cannot be loaded here (a broken one, which
    ``--disable-plugin`` may be skipping), every name is let through, for the command's own
    registry to accept or refuse, and none is listed."""

    def __init__(self, names_of: Callable[[Registry], Iterable[str]]) -> None:
        self._names_of = names_of

    def names(self) -> tuple[str, ...] | None:
        """The names now, or ``None`` when the plugins fail to load."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", PluginClashWarning)  # the command itself warns once
                return tuple(self._names_of(load_registry()))
        except AutoMLError:
            return None

    def __contains__(self, name: object) -> bool:
        names = self.names()
        return names is None or name in names

    def __getitem__(self, index):
        return (self.names() or ())[index]

    def __len__(self) -> int:
        return len(self.names() or ())

    def __iter__(self):
        return iter(self.names() or ())

    def __repr__(self) -> str:
        return f"RegisteredNames({list(self)})"


def task_names(registry: Registry) -> list[str]:
    """The registered tasks' names, in registry order (the ``--task`` choices)."""
    return list(registry.tasks)


def metric_names(registry: Registry) -> list[str]:
    """Every validation metric a registered task computes, sorted (the ``--metric`` choices)."""
    return sorted({metric for task in registry.tasks.values() for metric in task.metrics})


def _clash_message(family: str, name: str, group: list[Component]) -> str:
    singular = SINGULAR[family]
    packages = " and ".join(f"{c.namespace} ({c.qualified_name})" for c in group)
    other = group[1]
    return (
        f"{singular} '{name}' comes from {len(group)} packages: {packages}; a bare '{name}' means "
        f"{group[0].qualified_name}. To pick another, name it in full in the search space "
        f"({family}: include: [{other.qualified_name}]), or skip its plugin with "
        f"--disable-plugin {other.namespace}"
    )


def create_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    return pm


def installed_plugins(disabled: Iterable[str] = ()) -> list[tuple[importlib.metadata.EntryPoint, PluginInfo]]:
    """The ``automl`` entry points of the environment (minus ``disabled``), in a stable order."""
    disabled = tuple(disabled)
    found = []
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist
        info = PluginInfo(
            name=ep.name,
            entry_point=f"{ep.name} = {ep.value}",
            # A distribution pip is installing or removing right now can have no metadata yet.
            package=(dist.metadata["Name"] if dist else None) or "?",
            version=(dist.version if dist else None) or "?",
        )
        if not info.matches(disabled):
            found.append((ep, info))
    return sorted(found, key=lambda pair: (canonical_package(pair[1].package), pair[1].name))


def load_registry(
    disabled: Iterable[str] = (),
    extra_plugins: Iterable[tuple[str, Any]] = (),
    only: Iterable[tuple[str, str]] | None = None,
    entry_points: bool = True,
    known_tasks: dict[str, Any] | None = None,
) -> Registry:
    """Load every plugin of the ``automl`` entry-point group and collect their components.

    :param disabled: plugins to skip, e.g. a broken third-party one: an entry point name, a
        package (every plugin it installs), or ``package:entry_point``.
    :param extra_plugins: ``(name, module_or_object)`` pairs registered as well; for plugins
        that are not installed as packages (notebooks, tests). Their namespace is ``name``.
    :param only: ``(package, entry point name)`` pairs: load just these plugins (what a saved
        model needs, see :mod:`automl.requirements`); others are neither imported nor checked.
    :param entry_points: ``False`` loads only ``extra_plugins`` (``automl plugins check``).
    :param known_tasks: tasks registered elsewhere (``automl plugins check``: the installed
        ones), see :attr:`Registry.known_tasks`.

    Clashes of bare names are warned about (:class:`PluginClashWarning`), never raised.
    """
    wanted = None if only is None else {(canonical_package(p), name) for p, name in only}
    pm = create_plugin_manager()
    registry = Registry(known_tasks=dict(known_tasks or {}))
    for ep, info in installed_plugins(disabled) if entry_points else ():
        if wanted is not None and (canonical_package(info.package), info.name) not in wanted:
            continue
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
    registry.settle_names()
    for message in registry.clashes:
        warnings.warn(message, PluginClashWarning, stacklevel=2)
    return registry


def _register(pm: pluggy.PluginManager, registry: Registry, plugin: Any, info: PluginInfo) -> None:
    def fail(problem: str, fix: str) -> AutoMLError:
        return AutoMLError(
            f"plugin '{info.name}' (entry point '{info.entry_point}'): {problem}",
            f"{fix}, or skip it with --disable-plugin {info.name}",
        )

    registered_as = info.qualified_name
    try:
        pm.register(plugin, name=registered_as)
    except pluggy.PluginValidationError as exc:
        raise fail(f"invalid hook implementation: {exc}", "match a hook in automl/hookspecs.py") from exc
    except ValueError as exc:  # the same module under a second entry point, e.g. stale metadata of an old install
        twin = pm.get_name(plugin) or "another plugin"
        raise fail(f"its module is already registered as '{twin}'", "uninstall the stale or duplicate package") from exc
    registry.plugins.append(info)
    for family, spec_type in FAMILIES.items():
        hook = getattr(pm.hook, f"automl_{family}")
        for impl in hook.get_hookimpls():
            if impl.plugin_name != registered_as:
                continue
            for spec in _hook_result(impl, family, fail):
                _add_component(registry, family, spec_type, spec, info, fail)
    for impl in pm.hook.automl_tasks.get_hookimpls():
        if impl.plugin_name == registered_as:
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
    if not isinstance(spec.name, str) or not spec.name or ":" in spec.name:
        raise fail(f"{SINGULAR[family]} name {spec.name!r} is not a plain name", "name it without ':' (the package is added as its namespace)")
    if not callable(spec.build):
        raise fail(f"{SINGULAR[family]} '{spec.name}' has a build that is not callable", "pass a function")
    try:
        validate_component_space(spec.space)
    except AutoMLError as exc:
        raise fail(f"{SINGULAR[family]} '{spec.name}' declares an invalid space: {exc.problem}", exc.fix) from exc
    component = Component(family=family, spec=spec, plugin=info.name, package=info.package, version=info.version)
    existing = registry.add(component)
    if existing is not None:
        # Same package, same family, same name: the qualified name cannot tell them apart.
        raise fail(
            f"{SINGULAR[family]} '{spec.name}' is already registered by plugin '{existing.plugin}' of the same package",
            "give the component another name",
        )
