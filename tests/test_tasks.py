"""Tasks are a plugin family: the built-in ones arrive through the ``automl_tasks`` hook, a
plugin's task is found the same way, and each task names its metrics and ranking direction."""

from __future__ import annotations

import numpy as np
import pytest

from automl import AutoMLError, hookimpl
from automl.ensemble import select_ensemble
from automl.plugins import load_registry
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
