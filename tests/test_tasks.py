"""Tasks are a plugin family: the built-in ones arrive through the ``automl_tasks`` hook, a
plugin's task is found the same way, and each task names its metrics and ranking direction."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import automl
import automl.registry
from automl import AutoMLError, hookimpl
from automl.cli import build_parser, main
from automl.components import ArchitectureSpec, LossSpec
from automl.data.task import infer_task
from automl.ensemble import select_ensemble
from automl.metrics import DIRECTIONS
from automl.options import TASK_OPTIONS
from automl.registry import load_registry
from automl.tasks.supervised import RegressionTask

BUILT_IN = {"binary", "multiclass", "regression", "multilabel", "cluster", "generate"}


class MaeRegression(RegressionTask):
    name = "mae_regression"
    default_metric = "mae"


class _TaskPlugin:
    @hookimpl
    def automl_tasks(self):
        return [MaeRegression()]


class _DuplicateTask:
    @hookimpl
    def automl_tasks(self):
        return [RegressionTask()]


class _NotATask:
    @hookimpl
    def automl_tasks(self):
        return ["regression"]


def test_the_built_in_tasks_arrive_through_the_tasks_plugin():
    registry = load_registry()
    assert set(registry.tasks) == BUILT_IN
    assert {registry.task_plugins[name] for name in BUILT_IN} == {"tasks"}


def test_without_the_tasks_plugin_a_task_is_unknown_and_the_error_says_what_to_install():
    with pytest.raises(AutoMLError, match=r"unknown task 'binary'.*install the plugin"):
        load_registry(disabled=["tasks"]).task("binary")


def test_a_plugin_task_is_registered_beside_the_built_in_ones():
    registry = load_registry(extra_plugins=[("mine", _TaskPlugin())])
    assert registry.task("mae_regression").ranking() == ("mae", "min")
    assert registry.task_plugins["mae_regression"] == "mine"


def test_a_duplicate_task_name_names_the_plugin_that_has_it():
    with pytest.raises(AutoMLError, match=r"plugin 'dupe'.*task 'regression' is already registered by plugin 'tasks'"):
        load_registry(extra_plugins=[("dupe", _DuplicateTask())])


def test_a_hook_returning_something_else_than_tasks_is_refused():
    with pytest.raises(AutoMLError, match=r"plugin 'wrong'.*automl_tasks\(\) returned a str"):
        load_registry(extra_plugins=[("wrong", _NotATask())])


@pytest.mark.parametrize("task, metric, mode", [
    ("binary", None, ("accuracy", "max")), ("multiclass", "log_loss", ("log_loss", "min")),
    ("multiclass", "f1_macro", ("f1_macro", "max")), ("regression", None, ("rmse", "min")),
    ("regression", "r2", ("r2", "max")), ("cluster", None, ("silhouette", "max")), ("generate", None, ("c2st_gap", "min")),
])
def test_each_task_gives_the_direction_of_its_ranking_metric(task, metric, mode):
    assert load_registry().task(task).ranking(metric) == mode


def test_a_metric_the_task_does_not_compute_is_refused_with_the_ones_it_does():
    with pytest.raises(AutoMLError, match=r"task cluster has no metric 'accuracy'.*silhouette"):
        load_registry().task("cluster").ranking("accuracy")


def test_ensemble_selection_follows_the_ranking_metric_and_its_direction():
    from automl.metrics import classification_scores

    # "sharp" is confidently wrong on a fifth of the rows; "soft" is right but unsure everywhere.
    y = np.array([0, 1] * 20)
    sharp = np.eye(2)[y] * 0.98 + 0.01
    sharp[:8] = sharp[:8, ::-1]
    soft = np.full((40, 2), 0.4)
    soft[np.arange(40), y] = 0.6
    alone = {name: classification_scores(np.log(p), y)["log_loss"] for name, p in (("sharp", sharp), ("soft", soft))}
    selection = select_ensemble({"sharp": sharp, "soft": soft}, y, "binary", metric="log_loss")
    # Chosen to lower the log-loss (direction min): below either member's own.
    assert selection.val_metrics["log_loss"] < min(alone.values())
    assert set(selection.weights) == {"sharp", "soft"}


# -- the core names no task: the registry is the one place that knows them ------------------

# The names the scan below looks for: every built-in task, and the portfolio's group of the
# classification tasks.
SCANNED_NAMES = {*BUILT_IN, "classification"}


def _docstring_nodes(tree: ast.AST) -> set[int]:
    kinds = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    return {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, kinds) and node.body and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant) and isinstance(node.body[0].value.value, str)}


def task_name_literals(root: Path, names=SCANNED_NAMES) -> list[str]:
    """``file:line: literal`` of every string in the code of ``root`` (``automl/``, without
    ``automl/tasks/``) that is a task's name or quotes one (``"task 'binary' ..."``).

    Code only: docstrings (documentation, e.g. the examples in ``automl/hookspecs.py``) and
    comments are not scanned, and neither is prose that mentions a task unquoted in a help text
    or message ("cluster and generate need no target")."""
    found = []
    for path in sorted(root.rglob("*.py")):
        if (root / "tasks") in path.parents:
            continue
        tree = ast.parse(path.read_text(), str(path))
        documentation = _docstring_nodes(tree)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) or id(node) in documentation:
                continue
            if node.value in names or any(f"'{n}'" in node.value or f'"{n}"' in node.value for n in names):
                found.append(f"{path.relative_to(root.parent)}:{node.lineno}: {node.value!r}")
    return found


def test_no_task_name_is_a_literal_in_the_core_outside_the_tasks():
    assert task_name_literals(Path(automl.__file__).parent) == []


def test_the_scan_finds_a_task_name_reintroduced(tmp_path):
    package = tmp_path / "automl"
    (package / "tasks").mkdir(parents=True)
    (package / "tasks" / "mine.py").write_text('NAME = "binary"\n')
    (package / "metrics.py").write_text('"""The module of \'binary\' (documentation)."""\n\n'
                                        'def score(task):\n    # "regression" in a comment\n'
                                        '    return task == "multiclass" or f"task \'cluster\' {task}"\n')
    assert task_name_literals(package) == ["automl/metrics.py:5: 'multiclass'", 'automl/metrics.py:5: "task \'cluster\' "']


class MedianTask(RegressionTask):
    name = "median_regression"
    metrics = {"median_ae": "min", "rmse": "min"}
    default_metric = "median_ae"


class _MedianPlugin:
    @hookimpl
    def automl_tasks(self):
        return [MedianTask()]

    @hookimpl
    def automl_architectures(self):
        # Names no tasks: offered for every task that takes unmarked components, this one too.
        return [ArchitectureSpec("median_linear", build=lambda input_shape, output_size: torch.nn.Linear(input_shape[0], output_size))]

    @hookimpl
    def automl_losses(self):
        return [LossSpec("median_l1", build=lambda: torch.nn.L1Loss())]


@pytest.fixture
def median_task_installed(monkeypatch):
    """The installed plugins' registry as if a package added the ``median_regression`` task."""
    real = automl.registry.load_registry

    def with_median(disabled=(), extra_plugins=(), **keywords):
        return real(disabled, [*extra_plugins, ("median", _MedianPlugin())], **keywords)

    monkeypatch.setattr(automl.registry, "load_registry", with_median)


def _parse_error(argv, capsys) -> str:
    with pytest.raises(SystemExit):
        build_parser().parse_args(argv)
    return capsys.readouterr().err


def test_task_choices_come_from_the_registry(median_task_installed, capsys):
    assert build_parser().parse_args(["search", "data.csv", "--task", "median_regression"]).task == "median_regression"
    err = _parse_error(["search", "data.csv", "--task", "nope"], capsys)
    assert "binary, multiclass, regression, multilabel, cluster, generate, median_regression" in err


def test_a_task_no_plugin_registers_is_no_choice(capsys):
    assert "invalid choice: 'median_regression'" in _parse_error(["search", "data.csv", "--task", "median_regression"], capsys)


def test_metric_choices_come_from_the_registry(median_task_installed, capsys):
    assert build_parser().parse_args(["search", "data.csv", "--metric", "median_ae"]).metric == "median_ae"
    assert TASK_OPTIONS["metric"].checked("metric", "median_ae") == "median_ae"


def test_a_metric_no_task_computes_is_no_choice(capsys):
    assert "invalid choice: 'median_ae'" in _parse_error(["search", "data.csv", "--metric", "median_ae"], capsys)
    assert set(TASK_OPTIONS["metric"].choices) == set(DIRECTIONS)  # the built-in tasks compute every metric of the table


def test_space_show_resolves_the_space_for_a_registered_task(median_task_installed, capsys):
    assert main(["space", "show", "--task", "median_regression", "--format", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert "median_linear" in json.dumps(shown) and "mlp" not in json.dumps(shown)  # mlp names the tasks it fits


def test_building_the_parser_loads_no_plugin():
    # A process of its own: this one has imported the plugins already.
    code = ("import sys; from automl.cli import build_parser; build_parser(); "
            "print(sorted(m for m in sys.modules if m.startswith('automl_plugins')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_the_inferred_task_is_the_first_registered_task_that_claims_the_target():
    class Ordinal(RegressionTask):
        name = "ordinal"

        def infers(self, profile):
            return profile.numeric and profile.integer_valued

    tasks = {"ordinal": Ordinal(), **load_registry().tasks}
    assert infer_task(pd.Series([1, 2, 3, 2, 1], name="y"), tasks=tasks) == "ordinal"
    assert infer_task(pd.Series([1, 2, 3, 2, 1], name="y")) == "multiclass"
    assert infer_task(pd.Series(["a", "b", "a"], name="y"), tasks=tasks) == "binary"
