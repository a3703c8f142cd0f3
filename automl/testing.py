"""A plugin author's kit: the plugin contract of ``automl/hookspecs.py``, run on a plugin.

Use it from pytest, as scikit-learn's ``check_estimator`` is used::

    import my_plugin
    from automl.testing import check_plugin, plugin_checks

    def test_my_plugin_meets_the_automl_contract():
        check_plugin(my_plugin)            # raises AssertionError naming every failed check

    @pytest.mark.parametrize("check", plugin_checks(my_plugin), ids=str)
    def test_each_contract_check(check):   # or one test per check
        check()

or from the shell: ``automl plugins check PATH_OR_MODULE`` (exit code 0 when all pass).

What is checked, for each component the plugin's hooks return:

- every one: its space is valid and converts to Ray Tune domains (what a search samples);
- an architecture builds for every task and input kind it claims, with hyperparameters drawn
  from its space, and maps ``(N, *input_shape)`` to ``(N, output_size)`` in training and in
  eval mode, gradients flowing (``cluster``: ``encode`` and a same-shape reconstruction;
  ``generate``: ``discriminator``, ``generator_parameters``, ``adversarial_pair`` and ``sample``,
  or in the likelihood form ``generative_loss`` with gradients and ``sample``);
- a loss gives a finite scalar with gradients for hard targets and, for classification, for
  soft targets (class probabilities), where one-hot probabilities give the loss of the class
  indices; a loss that names ``class_weights`` runs with them;
- an optimizer (and its learning-rate schedule) steps, and its state saved with ``torch.save``
  loads with ``weights_only=True`` into a fresh one that then takes the very same step;
- a regularizer is a :class:`automl.components.Regularizer`, and each hook runs on a small
  model for every task and input kind it claims: ``transform_model`` keeps the output shape,
  ``transform_batch`` keeps the inputs' shape and gives class indices or class probabilities,
  ``penalty`` is ``None`` or a finite scalar, ``after_backward`` and ``stop_reason`` run.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from automl.components import SINGULAR
from automl.errors import AutoMLError
from automl.plugin_checks import FAMILY_CHECKS, space_check
from automl.registry import ENTRY_POINT_GROUP



@dataclass(frozen=True)
class Check:
    """One contract check of one component: call it to run it (raises ``AssertionError``)."""

    component: str
    description: str
    run: Callable[[], None]

    def __call__(self) -> None:
        self.run()

    def __str__(self) -> str:
        return f"{self.component}: {self.description}"


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one :class:`Check`."""

    check: Check
    passed: bool
    detail: str = ""

    def line(self) -> str:
        return f"{'ok  ' if self.passed else 'FAIL'} {self.check}" + ("" if self.passed else f": {self.detail}")


def check_plugin(plugin: Any) -> list[CheckResult]:
    """Run every contract check on ``plugin``; raise ``AssertionError`` listing the failed ones.

    ``plugin`` is a module or object with ``@hookimpl`` functions, a list of ``(name, plugin)``
    pairs, or what ``automl plugins check`` takes (a path, module or distribution name).
    """
    results = run_checks(plugin)
    failed = [r for r in results if not r.passed]
    if failed:
        raise AssertionError(f"{len(failed)} of {len(results)} plugin checks failed:\n" + "\n".join(r.line() for r in failed))
    return results


def run_checks(plugin: Any) -> list[CheckResult]:
    """Run every contract check on ``plugin`` and return each outcome (nothing is raised)."""
    try:
        checks = plugin_checks(plugin)
    except AutoMLError as exc:  # the plugin does not even register: that is the one result
        return [CheckResult(Check("plugin", "registers", lambda: None), False, exc.one_line())]
    results = []
    for check in checks:
        try:
            check()
        except Exception as exc:  # noqa: BLE001 - every failure is reported, none stops the rest
            detail = str(exc) if isinstance(exc, AssertionError) else f"{type(exc).__name__}: {exc}"
            results.append(CheckResult(check, False, detail))
        else:
            results.append(CheckResult(check, True))
    return results


def plugin_checks(plugin: Any) -> list[Check]:
    """Every contract check for ``plugin``'s components, unrun (for ``pytest.mark.parametrize``)."""
    from automl.registry import load_registry

    registry = load_registry(extra_plugins=_as_pairs(plugin), entry_points=False, known_tasks=installed_tasks())
    tasks = registry.every_task()
    checks = []
    for component in registry.list():
        label = f"{SINGULAR[component.family]} {component.name}"
        checks.append(Check(label, "space parses", space_check(component.spec)))
        checks.extend(Check(label, description, run) for description, run in FAMILY_CHECKS[component.family](component.spec, tasks))
    if not checks:
        raise AutoMLError("the plugin returns no components", "implement a hook of automl/hookspecs.py with @hookimpl")
    return checks


def installed_tasks() -> dict[str, Any]:
    """The tasks of the installed plugins, whose contracts a plugin's components are checked
    against (none when the installed plugins fail to load: only the plugin's own tasks count)."""
    import warnings

    from automl.errors import AutoMLError
    from automl.registry import PluginClashWarning, load_registry

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PluginClashWarning)
            return dict(load_registry().tasks)
    except AutoMLError:
        return {}


def _as_pairs(plugin: Any) -> list[tuple[str, Any]]:
    if isinstance(plugin, (str, Path)):
        return load_plugin_target(plugin)
    if isinstance(plugin, (list, tuple)):
        return list(plugin)
    return [(getattr(plugin, "__name__", type(plugin).__name__), plugin)]


def load_plugin_target(target: str | Path) -> list[tuple[str, Any]]:
    """The plugins ``target`` names, as ``(name, module)`` pairs: a ``.py`` file, a package
    folder, a project folder (the modules of its pyproject's ``automl`` entry points), an
    importable module, or an installed distribution (its ``automl`` entry points)."""
    path = Path(target)
    if path.is_file() and path.suffix == ".py":
        return [(path.stem, _import_from(path.parent, path.stem))]
    if path.is_dir() and (path / "pyproject.toml").is_file():
        return _project_plugins(path)
    if path.is_dir() and (path / "__init__.py").is_file():
        return [(path.name, _import_from(path.parent, path.name))]
    if path.exists():
        raise AutoMLError(f"{path} is not a plugin", "pass a .py file, a package folder (with __init__.py) or a project folder (with pyproject.toml)")
    name = str(target)
    try:
        dist = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        dist = None
    if dist is not None:
        eps = [ep for ep in dist.entry_points if ep.group == ENTRY_POINT_GROUP]
        if not eps:
            raise AutoMLError(f"package {name} declares no automl entry points", "add [project.entry-points.automl] to its pyproject.toml")
        return [(ep.name, ep.load()) for ep in eps]
    try:
        return [(name, importlib.import_module(name))]
    except ImportError as exc:
        raise AutoMLError(
            f"cannot find the plugin '{name}': {exc}",
            "pass a .py file, a package or project folder, an importable module or an installed distribution",
        ) from None


def _import_from(folder: Path, module: str) -> Any:
    folder = str(folder.resolve())
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return importlib.import_module(module)


def _project_plugins(project: Path) -> list[tuple[str, Any]]:
    import tomllib

    data = tomllib.loads((project / "pyproject.toml").read_text())
    entry_points = data.get("project", {}).get("entry-points", {}).get(ENTRY_POINT_GROUP, {})
    if not entry_points:
        raise AutoMLError(f"{project / 'pyproject.toml'} declares no automl entry points", "add [project.entry-points.automl]")
    root = project / "src" if (project / "src").is_dir() else project
    pairs = []
    for name, value in entry_points.items():
        module_name, _, attribute = value.partition(":")
        module = _import_from(root, module_name.strip())
        pairs.append((name, getattr(module, attribute.strip()) if attribute else module))
    return pairs


# ---------------------------------------------------------------------------------------------
# Inputs, hyperparameters and facts of the checks
# ---------------------------------------------------------------------------------------------
