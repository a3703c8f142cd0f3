"""No silently dropped options: every `automl search` flag against every task, refused up front
(one line, exit code 2, nothing written) where the task would ignore it. No Ray starts here."""

from __future__ import annotations

import argparse
import inspect

import pandas as pd
import pytest

from automl.api import AutoML
from automl.cli import build_parser, main
from automl.errors import AutoMLError
from automl.options import TASK_OPTIONS

# One explicit, non-default value for each flag of `automl search`.
EXAMPLES = {
    "--target": ["--target", "y"],
    "--metric": ["--metric", "accuracy"],
    "--n-clusters": ["--n-clusters", "3"],
    "--space": ["--space", "quick"],
    "--num-trials": ["--num-trials", "2"],
    "--time-budget": ["--time-budget", "30"],
    "--scheduler": ["--scheduler", "fifo"],
    "--searcher": ["--searcher", "tpe"],
    "--checkpoint-every": ["--checkpoint-every", "2"],
    "--max-concurrent": ["--max-concurrent", "2"],
    "--max-failures": ["--max-failures", "1"],
    "--cpus-per-trial": ["--cpus-per-trial", "2"],
    "--gpus-per-trial": ["--gpus-per-trial", "0.5"],
    "--address": ["--address", "auto"],
    "--storage": ["--storage", "/tmp/automl-storage"],
    "--precision": ["--precision", "bf16"],
    "--output": ["--output", "runs/x"],
    "--overwrite": ["--overwrite"],
    "--seed": ["--seed", "3"],
    "--val-fraction": ["--val-fraction", "0.2"],
    "--test-fraction": ["--test-fraction", "0.2"],
    "--image-shape": ["--image-shape", "1,2,2"],
    "--test-data": ["--test-data", "test.csv"],
    "--group-column": ["--group-column", "g"],
    "--time-column": ["--time-column", "t"],
    "--input-kind": ["--input-kind", "sequence"],
    "--clip-outliers": ["--clip-outliers", "0.01"],
    "--class-weights": ["--class-weights", "balanced"],
    "--delimiter": ["--delimiter", ";"],
    "--disable-plugin": ["--disable-plugin", "nothing"],
    "--ensemble": ["--ensemble", "3"],
    "--validation": ["--validation", "cv:3"],
    "--final-model": ["--final-model", "refit"],
    "--wandb-project": ["--wandb-project", "demo"],
    "--wandb-entity": ["--wandb-entity", "me"],
    "--no-report": ["--no-report"],
    "--no-wandb": ["--no-wandb"],
    "--verbose": ["--verbose"],
}
# Every built-in task, in the order the built-in tasks plugin registers them.
TASKS = ("binary", "multiclass", "regression", "multilabel", "cluster", "generate")
UNSUPERVISED = ("cluster", "generate")
# Each flag (with the value above) that a task does not use: the specification of the table.
REFUSED = {
    "--n-clusters": ("binary", "multiclass", "regression", "multilabel", "generate"),
    "--metric": ("regression", *UNSUPERVISED),
    "--test-data": UNSUPERVISED,
    "--group-column": UNSUPERVISED,
    "--time-column": UNSUPERVISED,
    "--input-kind": UNSUPERVISED,
    "--class-weights": ("regression", "multilabel", *UNSUPERVISED),
    "--ensemble": ("multilabel", *UNSUPERVISED),
    "--validation": UNSUPERVISED,
    "--final-model": UNSUPERVISED,
}
# Flags that steer the command line itself, not the search.
CLI_ONLY = {"--help", "--resume", "--quiet"}


class Started(Exception):
    """Raised by the stubbed ``AutoML.fit``: every check passed and the search would start."""


@pytest.fixture
def no_search(monkeypatch):
    def fit(self, data, on_event=None):
        raise Started(self)

    monkeypatch.setattr(AutoML, "fit", fit)


def search_flags() -> set[str]:
    search = build_parser()._subparsers._group_actions[0].choices["search"]
    return {option for action in search._actions for option in action.option_strings if option.startswith("--")}


def test_every_search_flag_and_api_keyword_is_in_the_task_table():
    assert search_flags() - CLI_ONLY == {use.flag for use in TASK_OPTIONS.values()}
    keywords = set(inspect.signature(AutoML.__init__).parameters) - {"self", "callbacks"}
    assert keywords == set(TASK_OPTIONS)
    assert set(EXAMPLES) == search_flags() - CLI_ONLY - {"--task"}


def test_every_command_that_loads_plugins_takes_disable_plugin_with_the_one_help_text():
    def actions(parser):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for command in action.choices.values():
                    yield from actions(command)
            elif "--disable-plugin" in action.option_strings:
                yield action

    found = list(actions(build_parser()))
    assert len(found) == 7  # search, predict, sample, plugins, space show, export, serve
    assert {(a.help, a.metavar, type(a)) for a in found} == {(TASK_OPTIONS["disable_plugins"].help, "NAME", argparse._AppendAction)}


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("flag", sorted(EXAMPLES))
def test_a_flag_the_task_ignores_is_refused_before_the_search(flag, task, no_search, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    quiet = [] if flag == "--verbose" else ["-q"]
    argv = ["search", "data.csv", "--task", task, *EXAMPLES[flag], *quiet]
    if task in REFUSED.get(flag, ()):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and flag in err[0] and f"task {task}" in err[0]
    else:
        with pytest.raises(Started):
            main(argv)
    assert not any(tmp_path.iterdir())  # nothing written either way


@pytest.mark.parametrize("scheduler", ["hyperband", "pbt"])
@pytest.mark.parametrize("task", UNSUPERVISED)
def test_every_scheduler_is_accepted_for_the_unsupervised_tasks(scheduler, task, no_search):
    # Every task trains in the one loop, which reports every epoch and checkpoints: PBT can clone them.
    with pytest.raises(Started):
        main(["search", "data.csv", "--task", task, "--scheduler", scheduler, "-q"])


def test_an_option_no_inferred_task_uses_is_refused_without_a_task():
    with pytest.raises(AutoMLError, match=r"--n-clusters / n_clusters=3 is used only by task cluster.*pass --task cluster"):
        AutoML(n_clusters=3)


def test_the_python_api_refuses_the_same_options_with_any_value_type():
    with pytest.raises(AutoMLError, match=r"--test-data / test_data does not work with task generate"):
        AutoML(task="generate", test_data=pd.DataFrame({"a": [1, 2]}))
    with pytest.raises(AutoMLError, match=r"--class-weights / class_weights='balanced' does not work with task regression"):
        AutoML(task="regression", class_weights="balanced")
    AutoML(task="regression", class_weights="none")  # the default, given explicitly, is no mistake


def test_an_option_the_inferred_task_ignores_is_refused_before_the_run_directory(tmp_path, capsys):
    data = tmp_path / "d.csv"
    pd.DataFrame({"x": [float(i) for i in range(40)], "y": [i * 0.37 for i in range(40)]}).to_csv(data, index=False)
    run = tmp_path / "run"
    assert main(["search", str(data), "--target", "y", "--class-weights", "balanced", "--output", str(run), "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--class-weights" in err[0] and "task regression" in err[0]
    assert not run.exists()


def test_wandb_settings_are_refused_with_wandb_off(capsys):
    assert main(["search", "data.csv", "--no-wandb", "--wandb-entity", "me", "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--wandb-entity" in err[0] and "--no-wandb" in err[0]


@pytest.mark.parametrize("flag, value", [("--image-shape", "1,2,2"), ("--clip-outliers", "0.01")])
def test_a_flag_the_input_kind_would_ignore_is_refused(flag, value, no_search, capsys):
    assert main(["search", "data.csv", "--target", "y", "--input-kind", "sequence", flag, value, "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{flag} / " in err[0] and "--input-kind" in err[0]


@pytest.mark.parametrize("task", UNSUPERVISED + ("multilabel",))
def test_the_off_values_of_ensemble_and_validation_work_with_every_task(task):
    # "--ensemble 0" and "--validation holdout" ask for what these tasks do anyway: no mistake.
    AutoML(task=task, ensemble=0, validation="holdout")
    with pytest.raises(AutoMLError, match=rf"--ensemble / ensemble=3 does not work with task {task}"):
        AutoML(task=task, ensemble=3)
    if task == "multilabel":  # cross-validated like the other supervised tasks
        AutoML(task=task, validation="cv:3")
        return
    with pytest.raises(AutoMLError, match=rf"--validation / validation='cv:3' does not work with task {task}"):
        AutoML(task=task, validation="cv:3")


def test_every_settings_field_comes_from_an_option():
    """The settings records (automl/config.py) are filled from the option table alone."""
    from dataclasses import fields

    from automl.config import DataConfig, ResourceConfig, SearchConfig, TrackingConfig
    from automl.options import OPTION, default_options, settings

    covered = set()
    for record in (DataConfig, SearchConfig, ResourceConfig, TrackingConfig):
        for f in fields(record):
            name = f.metadata.get(OPTION, f.name)
            if name is None:
                continue  # declared not an option (the data layer's imputer and scaler)
            assert name in TASK_OPTIONS, f"{record.__name__}.{f.name} has no option {name!r}"
            covered.add(name)
    # Every option reaches a record, but those that only the API itself reads.
    assert set(TASK_OPTIONS) - covered == {"metric", "n_clusters", "output", "overwrite", "disable_plugins", "verbose"}
    given = {**default_options(), "ensemble": 3, "wandb_project": "p", "validation": "cv:3", "precision": "bf16"}
    assert settings(SearchConfig, given, searcher="random").ensemble_size == 3
    assert settings(TrackingConfig, given).project == "p"
    assert settings(DataConfig, given).validation == "cv:3" and settings(ResourceConfig, given).precision == "bf16"


# -- every default declared once, in the option table ----------------------------------------------

class Probe:
    """A default that only the option table can hand out: equal to nothing but itself."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Probe({self.name!r})"


@pytest.fixture
def probed(monkeypatch) -> dict[str, Probe]:
    """Every option's default in the table replaced by a :class:`Probe`: a place that declares a
    default of its own (a literal ``0.15``) keeps it, and a test comparing with the probes fails."""
    from dataclasses import replace

    from automl.options import SAME

    probes = {}
    for name, use in list(TASK_OPTIONS.items()):
        probes[name] = Probe(name)
        estimator_default = SAME if use.estimator_default is SAME else Probe(f"{name}, for the estimators")
        monkeypatch.setitem(TASK_OPTIONS, name, replace(use, default=probes[name], estimator_default=estimator_default))
    return probes


def fresh(module: str, monkeypatch):
    """``module`` run again from its file, as a new module, reading the option table as it is now."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(f"{module}_probed", importlib.util.find_spec(module).origin)
    loaded = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, loaded)
    spec.loader.exec_module(loaded)
    return loaded


def test_the_settings_records_take_their_defaults_from_the_option_table(probed, monkeypatch):
    from dataclasses import fields

    from automl.options import DEFAULT_SEARCHER, OPTION

    config = fresh("automl.config", monkeypatch)
    for record in (config.DataConfig, config.SearchConfig, config.ResourceConfig, config.TrackingConfig):
        built = record()  # what code that builds a record directly gets
        for f in fields(record):
            name = f.metadata.get(OPTION, f.name)
            if name is not None and name != "searcher":  # the searcher is chosen for the scheduler (searcher_for)
                assert getattr(built, f.name) is probed[name], f"{record.__name__}.{f.name} declares its own default"
    assert config.SearchConfig().searcher == DEFAULT_SEARCHER


def test_the_keywords_of_automl_take_their_defaults_from_the_option_table(probed, monkeypatch):
    parameters = inspect.signature(fresh("automl.api", monkeypatch).AutoML).parameters
    assert {name: parameters[name].default for name in TASK_OPTIONS} == probed
    assert parameters["callbacks"].default == ()  # the one keyword that is no option


@pytest.mark.parametrize("estimator", ["AutoMLClassifier", "AutoMLRegressor"])
def test_the_estimators_take_their_parameters_and_defaults_from_the_option_table(estimator, probed, monkeypatch):
    from automl.options import SAME

    model = getattr(fresh("automl.sklearn", monkeypatch), estimator)
    expected = {name: probed[name] if use.estimator_default is SAME else use.estimator_default
                for name, use in TASK_OPTIONS.items() if use.estimator}
    assert all(isinstance(default, Probe) for default in expected.values())
    assert model().get_params() == expected
    assert {name: p.default for name, p in inspect.signature(model).parameters.items()} == expected  # clone and repr read these


def test_no_help_text_writes_its_default_out(monkeypatch, capsys):
    # A help text names its option's default as %(default)s: argparse writes in the table's.
    for name, use in TASK_OPTIONS.items():
        if use.default is not None and not isinstance(use.default, (bool, tuple)):
            written = format(use.default, "g") if isinstance(use.default, float) else str(use.default)
            assert f"default {written}" not in use.help and f"default: {written}" not in use.help, name
    from dataclasses import replace

    monkeypatch.setitem(TASK_OPTIONS, "val_fraction", replace(TASK_OPTIONS["val_fraction"], default=0.25))
    with pytest.raises(SystemExit):
        main(["search", "--help"])
    assert "validation share of rows (default 0.25)" in capsys.readouterr().out


def test_the_estimators_defaults_are_a_quick_search():
    import automl.sklearn

    params = automl.sklearn.AutoMLRegressor().get_params()
    assert params.pop("space") == "quick" and params.pop("num_trials") == 4
    assert params == {name: TASK_OPTIONS[name].default for name in params}
    assert set(params) == {"metric", "time_budget_s", "scheduler", "ensemble", "validation", "final_model", "cpus_per_trial",
                           "gpus_per_trial", "address", "output", "val_fraction", "test_fraction", "seed", "verbose"}


def test_the_api_builds_its_settings_from_the_keywords():
    automl = AutoML(ensemble=0, validation="holdout", cpus_per_trial=2.0, wandb_entity="team", time_budget_s=5.0)
    assert automl.search_config.ensemble_size == 0 and automl.search_config.time_budget_s == 5.0
    assert automl.data_config.validation == "holdout" and automl.resource_config.cpus_per_trial == 2.0
    assert automl.tracking_config.entity == "team" and automl.search_config.searcher == "tpe"


# -- one value rule per option, for the command line and the Python API ----------------------------

# For every option with a value rule (a type or choices): a flag text `automl search` refuses, and
# values AutoML(...) must refuse by the same rule, a wrong type among them.
BAD_VALUES = {
    "task": ("forecast", ["forecast", 3]),
    "metric": ("precision", ["precision", 0]),
    "n_clusters": ("1", [1, "3", 2.0]),
    "num_trials": ("0", [0, -2, "20", 2.5, True]),
    "time_budget_s": ("0", [0, -5.0, "300", float("nan")]),
    "scheduler": ("bohb", ["bohb", 1]),
    "searcher": ("bayes", ["bayes"]),
    "checkpoint_every": ("-1", [-1, "2", 1.5]),
    "max_concurrent": ("0", [0, "2"]),
    "max_failures": ("-1", [-1, "1"]),
    "cpus_per_trial": ("0", [0, 0.0, -1, "1"]),
    "gpus_per_trial": ("-0.5", [-0.5, "0.5"]),
    "precision": ("fp16", ["fp16"]),
    "seed": ("x", ["3", 1.5]),
    "val_fraction": ("1", [1.0, 0, "0.2"]),
    "test_fraction": ("0", [0.0, 1.5, "0.1"]),
    "image_shape": ("1,8", [(1, 8), (1, 0, 8), "1,8,8"]),
    "input_kind": ("image", ["image"]),
    "clip_quantile": ("0.5", [0.5, "0.01"]),
    "class_weights": ("auto", ["auto", True]),
    "validation": ("cv:1", ["cv:1", "kfold", 5]),
    "final_model": ("best", ["best"]),
    "ensemble": ("1", [1, -1, "3", 2.0]),
}


def ruled_options() -> set[str]:
    from automl.flags import FlagValue

    return {name for name, use in TASK_OPTIONS.items() if isinstance(use.type, FlagValue) or use.choices}


def test_the_table_of_bad_values_covers_every_option_with_a_value_rule():
    assert set(BAD_VALUES) == ruled_options()


@pytest.fixture
def no_ray(monkeypatch):
    import ray

    def refuse(*args, **kwargs):
        raise AssertionError("Ray was started")

    monkeypatch.setattr(ray, "init", refuse)


@pytest.mark.parametrize("name", sorted(ruled_options()))
def test_every_keyword_with_a_rule_refuses_a_bad_value_for_the_reason_its_flag_gives(name, no_ray, capsys):
    """Parametrized over the option table: `automl search` refuses the flag's bad text (exit code 2)
    and AutoML(...) each bad value, naming the flag and the keyword, with the CLI's own reason (a
    FlagValue: "must be <allowed>") or the CLI's own allowed values (choices, which argparse words)."""
    use, (text, values) = TASK_OPTIONS[name], BAD_VALUES[name]
    with pytest.raises(SystemExit) as exited:
        main(["search", "data.csv", use.flag, text, "-q"])
    assert exited.value.code == 2
    error, allowed = capsys.readouterr().err.splitlines()[:2]
    cli_reason = error.split(f"argument {use.flag}: ", 1)[1]
    for value in values:
        with pytest.raises(AutoMLError) as refused:
            AutoML(**{name: value})
        prefix, api_reason = refused.value.problem.split(": ", 1)
        assert prefix == f"{use.flag} / {name}" and api_reason.endswith(f", got {value!r}")
        if use.choices:
            assert cli_reason == f"invalid choice: {text!r}"
            assert api_reason == f"must be one of {allowed.split(f'allowed: {use.flag} ', 1)[1]}, got {value!r}"
        else:
            assert cli_reason == f"{api_reason.rsplit(', got ', 1)[0]}, got {text}"


def test_the_api_and_the_cli_give_the_same_reason_for_a_refused_number(capsys):
    with pytest.raises(SystemExit):
        main(["search", "data.csv", "--num-trials", "0", "-q"])
    cli_reason = capsys.readouterr().err.splitlines()[0].split("--num-trials: ")[1]
    with pytest.raises(AutoMLError) as refused:
        AutoML(num_trials=0)
    assert cli_reason == "must be a whole number of 1 or more, got 0"
    assert refused.value.problem == f"--num-trials / num_trials: {cli_reason}"
    assert refused.value.fix == "pass a whole number of 1 or more, e.g. num_trials=10"


def test_every_default_passes_its_own_rule():
    # A default the flag's rule refuses could not be asked for on the command line.
    from automl.flags import FlagValue

    for name, use in TASK_OPTIONS.items():
        if isinstance(use.type, FlagValue) and use.default is not None:
            assert use.type.check(use.default) == use.default, name
            assert use.type(str(use.default)) == use.default, name


def test_the_api_takes_numpy_numbers_and_a_listed_image_shape_as_the_cli_values_they_equal():
    # A resumed search reads its options back from JSON (a list), and numpy numbers are common.
    import numpy as np

    automl = AutoML(num_trials=np.int64(3), cpus_per_trial=2, image_shape=[1, 2, 2], seed=np.int32(4))
    assert automl.options["num_trials"] == 3 and type(automl.options["num_trials"]) is int
    assert automl.options["cpus_per_trial"] == 2.0 and automl.options["image_shape"] == (1, 2, 2)
    assert automl.resource_config.cpus_per_trial == 2.0 and automl.data_config.seed == 4


def test_a_switch_or_a_path_of_the_wrong_type_is_refused():
    with pytest.raises(AutoMLError, match=r"--overwrite / overwrite: must be True or False, got 'yes'"):
        AutoML(overwrite="yes")
    with pytest.raises(AutoMLError, match=r"--output / output: must be a path, got 3"):
        AutoML(output=3)
    with pytest.raises(AutoMLError, match=r"--space / space: must be a str, a path or a mapping, got None"):
        AutoML(space=None)


@pytest.mark.parametrize("estimator", ["AutoMLClassifier", "AutoMLRegressor"])
@pytest.mark.parametrize("name, value", [("num_trials", 0), ("cpus_per_trial", 0), ("time_budget_s", "60"), ("ensemble", 1)])
def test_the_estimators_refuse_the_same_values_in_fit_before_any_search(estimator, name, value, no_ray):
    import numpy as np

    import automl.sklearn

    model = getattr(automl.sklearn, estimator)(**{name: value})  # scikit-learn: __init__ only stores
    X, y = np.arange(40.0).reshape(20, 2), np.arange(20) % 2
    with pytest.raises(AutoMLError, match=rf"{TASK_OPTIONS[name].flag} / {name}: must be "):
        model.fit(X, y)
