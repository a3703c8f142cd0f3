"""Every search option, declared once, with the tasks that use it, and the combinations of
options a search refuses.

One table, :data:`TASK_OPTIONS`, declares every option of a search (type, default, help,
allowed values): the flags of ``automl search``, the keywords of ``AutoML(...)``, the
parameters of the scikit-learn estimators, the defaults of the settings records
(:mod:`automl.config`) and ``request.json`` all come from it, with the tasks that use each
option; no default is written a second time anywhere else. Each option's value rule is
declared once too (its ``type``, a :class:`automl.flags.FlagValue`, or its ``choices``): the
parser of ``automl search`` applies it to a flag's text and :func:`checked_options` to a value
given in Python, so ``AutoML(...)`` and the estimators refuse every value the command line
refuses. An option given explicitly (a value other than its default) that the task would
ignore is refused before anything runs, with one line naming the flag and the task;
:func:`check_combinations` does the same for pairs of options that cannot work together, such
as a pair Ray Tune refuses.
"""

from __future__ import annotations

import argparse
import inspect
from dataclasses import dataclass, fields
from os import PathLike
from pathlib import Path
from typing import Any, Callable, Mapping

from automl.errors import AutoMLError
from automl.flags import (
    CLUSTER_COUNT, ENSEMBLE_SIZE, FRACTION, IMAGE_SHAPE, INTEGER, NON_NEGATIVE_FLOAT, NON_NEGATIVE_INT, POSITIVE_FLOAT,
    POSITIVE_INT, QUANTILE, VALIDATION, FlagValue,
)
from automl.metrics import DIRECTIONS
from automl.registry import RegisteredNames, metric_names, task_names

SCHEDULERS = ("asha", "fifo", "hyperband", "pbt")
SEARCHERS = ("random", "grid", "tpe", "gp")
# The searcher of a search that names none (--searcher unset): Optuna's multivariate TPE.
DEFAULT_SEARCHER = "tpe"
# Trials of a search given neither --num-trials nor --time-budget.
DEFAULT_NUM_TRIALS = 20
# Schedulers that clone trials need a checkpoint every epoch to go on from.
CHECKPOINTING_SCHEDULERS = ("pbt",)
# --validation auto: AUTO_FOLDS-fold cross-validation up to this many training rows, a hold-out
# above (why this number: automl/data/folds.py).
AUTO_CV_MAX_ROWS = 2000
AUTO_FOLDS = 5
SAME = object()  # an option's estimator_default where the estimators take its own default
OPTION = "option"  # the metadata key of a settings field (automl.config) naming its search option


@dataclass(frozen=True)
class OptionUse:
    """One setting of a search, declared once: its ``automl search`` flag, default, help and
    allowed values, and where it takes effect.

    The CLI flags (:func:`add_search_flags`), the keywords of ``AutoML(...)``, the parameters
    of the scikit-learn estimators, the settings records' defaults and the ``request.json`` of
    a run directory all come from these declarations. ``some_tasks``: only the tasks that name
    the option in their ``Task.options`` use a value other than the default (``values``: only
    these values, when the others work for every task); the tasks decide, the table never names
    one. ``why`` says what the option does, for the message that refuses it. A boolean whose default is ``True`` is
    the flag ``--no-...``; a tuple default is a repeatable flag. ``help`` names the default as
    ``%(default)s`` (argparse writes it in), never by its value. ``everywhere`` are values that
    every task takes (an option's "off" value, such as ``--ensemble 0``). ``estimator``: a
    parameter of the scikit-learn estimators (an option that makes sense per fit), whose
    default there is ``estimator_default`` where one is given (a quick search), else ``default``.
    """

    flag: str
    default: Any = None
    help: str = ""
    type: Any = None
    choices: tuple[Any, ...] | None = None
    metavar: str | None = None
    group: str = "search"  # the argument group of `automl search`: search, data or noise
    short: str | None = None
    some_tasks: bool = False
    values: tuple[Any, ...] | None = None
    why: str = ""
    everywhere: tuple[Any, ...] = ()
    estimator: bool = False
    estimator_default: Any = SAME

    def used_by(self, name: str, task: Any, value: Any) -> bool:
        """Whether ``task`` (an :class:`automl.tasks.base.Task`) uses this option, named
        ``name``, set to ``value``."""
        if isinstance(value, (str, int, float)) and value in self.everywhere:
            return True
        return not self.some_tasks or name in task.options or (self.values is not None and value not in self.values)

    def argparse_keywords(self, name: str) -> dict[str, Any]:
        """The keywords of ``parser.add_argument`` for this option's flag."""
        if isinstance(self.default, bool):
            return {"dest": name, "action": "store_true", "help": self.help}
        if isinstance(self.default, tuple):
            return {"dest": name, "action": "append", "default": [], "metavar": self.metavar, "help": self.help}
        choices = self.choices if isinstance(self.choices, RegisteredNames) else list(self.choices) if self.choices else None
        keywords = {"dest": name, "default": self.default, "help": self.help, "type": self.type,
                    "choices": choices, "metavar": self.metavar}
        return {k: v for k, v in keywords.items() if v is not None or k == "default"}

    def from_flag(self, value: Any) -> Any:
        """The option's value from what argparse parsed for its flag."""
        if isinstance(self.default, bool) and self.flag.startswith("--no-"):
            return not value
        return tuple(value) if isinstance(self.default, tuple) else value

    def checked(self, name: str, value: Any) -> Any:
        """``value`` given in Python as keyword ``name``, checked by the rule the flag's parser
        applies to text: the plain value (a numpy integer becomes an ``int``), or an
        :class:`AutoMLError` naming the flag and the keyword. The default is always accepted."""
        if _is_default(value, self.default):
            return value
        if isinstance(self.type, FlagValue):
            try:
                return self.type.check(value)
            except ValueError as refused:
                raise AutoMLError(f"{self.flag} / {name}: {refused}",
                                  f"pass {self.type.allowed}, e.g. {name}={self.type.python_example()}") from None
        if self.choices is not None:
            if not (isinstance(value, str) and value in self.choices):
                raise AutoMLError(f"{self.flag} / {name}: must be one of {', '.join(self.choices)}, got {value!r}",
                                  f"pass one of them, e.g. {name}={self.choices[0]!r}")
            return value
        if isinstance(self.default, bool):
            if not isinstance(value, bool):
                raise AutoMLError(f"{self.flag} / {name}: must be True or False, got {value!r}", f"pass {name}=True or {name}=False")
            return value
        if self.type is Path and not isinstance(value, (str, PathLike)):
            raise AutoMLError(f"{self.flag} / {name}: must be a path, got {value!r}", f"pass a str or pathlib.Path as {name}")
        if isinstance(self.default, str) and not isinstance(value, (str, PathLike, Mapping)):  # --space also takes a dict
            raise AutoMLError(f"{self.flag} / {name}: must be a str, a path or a mapping, got {value!r}",
                              f"pass a str, or leave {name} out for its default {self.default!r}")
        return value


SPLIT = "cluster and generate split random rows"

# Every keyword of AutoML(...) but the live callbacks, in the order of `automl search --help`.
TASK_OPTIONS: dict[str, OptionUse] = {
    "target": OptionUse("--target", help="target column (default for built-in datasets: target); "
                        "optional for --task cluster/generate, where it is set aside unused"),
    "task": OptionUse("--task", choices=RegisteredNames(task_names), help="override the inferred task; cluster and generate need no target"),
    "metric": OptionUse("--metric", choices=RegisteredNames(metric_names), metavar="NAME",
                        help="validation metric that ranks trials, its direction from the task (default: accuracy, rmse, "
                             f"silhouette or c2st_gap); one of: {', '.join(sorted(DIRECTIONS))}", estimator=True),
    "n_clusters": OptionUse("--n-clusters", type=CLUSTER_COUNT, metavar="K", some_tasks=True, why="it fixes k of the clustering",
                            help="with --task cluster: fix k (default: searched, 2 to 8)"),
    "space": OptionUse("--space", "default", "search space: a name in search_spaces/ or a YAML path (default: %(default)s, "
                      "which follows the input kind: sequence.yaml for sequences, image.yaml, text.yaml)",
                      estimator=True, estimator_default="quick"),  # the estimators: a quick search
    "num_trials": OptionUse("--num-trials", type=POSITIVE_INT, help=f"number of trials (default {DEFAULT_NUM_TRIALS}, or unlimited with --time-budget)",
                            estimator=True, estimator_default=4),  # the estimators: a quick search
    "time_budget_s": OptionUse("--time-budget", type=POSITIVE_FLOAT, metavar="SECONDS", estimator=True,
                               help="stop starting and running trials after this long"),
    "scheduler": OptionUse("--scheduler", "asha", "trial scheduler (default: %(default)s)", choices=SCHEDULERS, estimator=True),
    "searcher": OptionUse("--searcher", None, "search algorithm: random, grid, Optuna tpe or Optuna gp (default: "
                          f"{DEFAULT_SEARCHER}, Optuna's multivariate TPE; random with --scheduler pbt, which takes no search "
                          "algorithm, and with a space that has grid domains, which random search enumerates); every one but grid "
                          "tries the portfolio (search_spaces/portfolio.yaml) first", choices=SEARCHERS),
    "checkpoint_every": OptionUse("--checkpoint-every", 0,
                                  "checkpoint trials this often (default %(default)d: only where the scheduler needs it)",
                                  type=NON_NEGATIVE_INT, metavar="EPOCHS"),
    "max_concurrent": OptionUse("--max-concurrent", type=POSITIVE_INT, help="at most this many trials at once"),
    "max_failures": OptionUse("--max-failures", 0, "retry a crashed trial (it raised, ran out of memory or its worker died) up to N "
                              "times, from its latest checkpoint when it has one (see --checkpoint-every); default %(default)d",
                              type=NON_NEGATIVE_INT, metavar="N"),
    "cpus_per_trial": OptionUse("--cpus-per-trial", 1.0, "CPUs per trial (default %(default)g)", type=POSITIVE_FLOAT, estimator=True),
    "gpus_per_trial": OptionUse("--gpus-per-trial", 0.0, "GPUs per trial, fractions allowed (default %(default)g)",
                                type=NON_NEGATIVE_FLOAT, estimator=True),
    "address": OptionUse("--address", help="join an existing Ray cluster at this address (default: start Ray locally)",
                         estimator=True),
    "storage": OptionUse("--storage", help="path or URI for trial results that every node of the cluster can reach"),
    "precision": OptionUse("--precision", "fp32", "bf16: bfloat16 autocast (default %(default)s)", choices=("fp32", "bf16")),
    "output": OptionUse("--output", type=Path, help="run directory (default: runs/<dataset>-<time>)", estimator=True),
    "overwrite": OptionUse("--overwrite", False, "replace an existing, non-empty run directory"),
    "seed": OptionUse("--seed", 0, "seed for splits, sampling and training (default %(default)d)", type=INTEGER, estimator=True),
    "val_fraction": OptionUse("--val-fraction", 0.15, "validation share of rows (default %(default)g)", type=FRACTION, estimator=True),
    "test_fraction": OptionUse("--test-fraction", 0.15, "test share of rows (default %(default)g)", type=FRACTION, estimator=True),
    "image_shape": OptionUse("--image-shape", type=IMAGE_SHAPE, metavar="C,H,W", help="treat pixel columns as images of this shape"),
    "test_data": OptionUse("--test-data", metavar="FILE", group="data", some_tasks=True, why=SPLIT,
                           help="use this file as the test split instead of carving one out"),
    "group_column": OptionUse("--group-column", metavar="COLUMN", group="data", some_tasks=True, why=SPLIT,
                              help="keep all rows of a group on one side of each split"),
    "time_column": OptionUse("--time-column", metavar="COLUMN", group="data", some_tasks=True, why=SPLIT,
                             help="split in time order: oldest rows train, newest test"),
    "input_kind": OptionUse("--input-kind", choices=("tabular", "sequence", "text"), group="data", some_tasks=True,
                            why="cluster and generate read tables (or --image-shape pixels)",
                            help="force how a table is read: as a table, as sequences (a wide table, one row per series; "
                                 "detected when its columns are ordered time steps such as t0..t149), or as text"),
    "clip_quantile": OptionUse("--clip-outliers", type=QUANTILE, metavar="Q", group="data",
                               help="clip numeric columns to their [Q, 1-Q] training quantiles"),
    "class_weights": OptionUse("--class-weights", "none", "weight the loss by inverse class frequency", choices=("none", "balanced"),
                               group="data", some_tasks=True, why="it weights the loss by class frequency"),
    "delimiter": OptionUse("--delimiter", group="data", help="CSV delimiter (default: detected)"),
    "disable_plugins": OptionUse("--disable-plugin", (), "skip a plugin: an entry point name, a package, or PACKAGE:ENTRY_POINT "
                                 "(repeatable); a saved model loads only the plugins it needs anyway", metavar="NAME"),
    "validation": OptionUse("--validation", "auto", "how trials are validated: holdout (one validation split), cv:K "
                            "(K-fold cross-validation of the training rows, stratified, by --group-column or in "
                            "--time-column order; the test split stays held out), or auto (default: "
                            f"cv:{AUTO_FOLDS} up to {AUTO_CV_MAX_ROWS:,} training rows, holdout above)",
                            type=VALIDATION, metavar="auto|holdout|cv:K",
                            some_tasks=True, why="cluster and generate validate on a hold-out split",
                            everywhere=("holdout",), estimator=True),
    "final_model": OptionUse("--final-model", "bag", "with cross-validation, the final model: bag (the K fold models of the "
                             "winner, predictions averaged, no refit; default) or refit (retrained on all training rows)",
                             choices=("bag", "refit"), some_tasks=True, why="only cross-validated trials have fold models",
                             estimator=True),
    "ensemble": OptionUse("--ensemble", 10, "greedy ensemble selection over the top K trials' out-of-fold (or hold-out "
                          "validation) predictions; the ensemble is the final model only if it wins (default %(default)d; 0: off)",
                          type=ENSEMBLE_SIZE, metavar="K", some_tasks=True,
                          why="it averages the predictions of classifiers or regressors", everywhere=(0,), estimator=True),
    "wandb_project": OptionUse("--wandb-project", "automl", "W&B project (default: %(default)s)", metavar="NAME"),
    "wandb_entity": OptionUse("--wandb-entity", metavar="NAME", help="W&B entity: your user or team (default: your default entity)"),
    "report": OptionUse("--no-report", True, "write no report.html (the leaderboard files stay)"),
    "wandb": OptionUse("--no-wandb", True, "no Weights & Biases runs (without an API key they are written offline under RUN_DIR/wandb)"),
    "verbose": OptionUse("--verbose", False, "show Ray Tune's own output and logs instead of the progress display",
                         group="noise", short="-v", estimator=True),
}


def add_search_flags(search: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add every option's flag to the ``automl search`` parser; returns the group of the flags
    that change what is printed (``--verbose``), for the CLI's own ``--quiet`` beside it."""
    groups = {"search": search, "data": search.add_argument_group("data"), "noise": search.add_mutually_exclusive_group()}
    for name, option in TASK_OPTIONS.items():
        flags = [option.short, option.flag] if option.short else [option.flag]
        keywords = option.argparse_keywords(name)
        registered = keywords.pop("choices", None) if isinstance(option.choices, RegisteredNames) else None
        action = groups[option.group].add_argument(*flags, **keywords)
        if registered is not None:
            # Set after add_argument, which formats the choices of a flag without a metavar:
            # the registry is read when a value is checked or the usage printed, not here.
            action.choices = registered
    return groups["noise"]


def options_from_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The ``AutoML(...)`` keywords of a parsed ``automl search`` command line."""
    return {name: option.from_flag(getattr(args, name)) for name, option in TASK_OPTIONS.items()}


def default_options() -> dict[str, Any]:
    """The default of every option."""
    return {name: option.default for name, option in TASK_OPTIONS.items()}


def estimator_defaults() -> dict[str, Any]:
    """The parameters of the scikit-learn estimators (the options marked ``estimator``) and
    their defaults there: ``estimator_default`` where one is declared, else the option's."""
    return {name: option.default if option.estimator_default is SAME else option.estimator_default
            for name, option in TASK_OPTIONS.items() if option.estimator}


def options_signature(defaults: Mapping[str, Any] | None = None, names=None, extra: tuple = ()) -> inspect.Signature:
    """A keyword-only signature of the options ``names`` (default: all), for ``AutoML(...)``
    and the estimators, with ``defaults`` overriding the declared ones."""
    defaults = {**default_options(), **(defaults or {})}
    parameters = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    parameters += [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=defaults[n]) for n in (names or TASK_OPTIONS)]
    return inspect.Signature(parameters + list(extra))


def checked_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` given in Python (``AutoML(...)``, an estimator's parameters), each checked by
    its flag's rule (:meth:`OptionUse.checked`): every value ``automl search`` refuses is
    refused here, a string where a number is wanted included. Returns the plain values."""
    return {name: TASK_OPTIONS[name].checked(name, value) for name, value in options.items()}


def given_keywords(owner: str, keywords: Mapping[str, Any], names) -> None:
    """Refuse a keyword that is not one of the option ``names``, as Python would."""
    unknown = sorted(set(keywords) - set(names))
    if unknown:
        raise TypeError(f"{owner}() got an unexpected keyword argument '{unknown[0]}'")


# Option → (the option it needs, the value that one must have): without it, it does nothing.
NEEDS: dict[str, tuple[str, Any]] = {
    "wandb_project": ("wandb", True),
    "wandb_entity": ("wandb", True),
}

# Pairs of options that cannot both be given: the data path of the second ignores the first.
CONFLICTS: dict[tuple[str, str], str] = {
    ("image_shape", "input_kind"): "--input-kind reads the table as sequences or text, not as images",
    ("clip_quantile", "input_kind"): "sequence and text input are not clipped (only numeric columns of a table are)",
}

# (scheduler, searcher) pairs that cannot run, and why.
REFUSED_PAIRS: dict[tuple[str, str], str] = {
    ("pbt", searcher): "Ray Tune's PopulationBasedTraining samples trials itself and takes no search algorithm"
    for searcher in ("tpe", "gp")
}


def explicit_options(options: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The options whose value is not their default: those the user gave on purpose."""
    return {name: value for name, value in options.items() if name in defaults and not _is_default(value, defaults[name])}


def _is_default(value: Any, default: Any) -> bool:
    if value is default:
        return True
    # Only plain values compare safely (a DataFrame's == is elementwise).
    plain = (str, int, float, bool, tuple)
    return isinstance(value, plain) and type(value) is type(default) and value == default


def check_task_options(task: str | None, given: Mapping[str, Any], tasks: Mapping[str, Any] | Callable[[], Mapping[str, Any]]) -> None:
    """Refuse an explicitly given option that ``task`` ignores (``None``: the task is inferred).

    ``tasks``: the registered tasks by name (registry order), or a function that returns them,
    called only when an option used by some tasks only was given. Each task says which of those
    options it uses (``Task.options``). With the task still to be inferred, only options that no
    inferable task (``Task.can_be_inferred``) uses are refused here; the search checks again
    once the data has named the task.
    """
    if not any(TASK_OPTIONS[name].some_tasks for name in given):
        return
    tasks = tasks() if callable(tasks) else tasks
    for name, value in given.items():
        use = TASK_OPTIONS[name]
        named = " or ".join(t for t in tasks if not use.some_tasks or name in tasks[t].options)
        if task is None:
            if not any(use.used_by(name, t, value) for t in tasks.values() if t.can_be_inferred):
                first = named.split(" or ")[0]
                raise AutoMLError(
                    f"{_shown(name, use.flag, value)} is used only by task {named}, and no task was given",
                    f"pass --task {first} (task='{first}'), or drop {use.flag}",
                )
        elif task in tasks and not use.used_by(name, tasks[task], value):
            why = f": {use.why}" if use.why else ""
            instead = f"another {use.flag} than {' or '.join(use.values)}" if use.values else f"no {use.flag}"
            raise AutoMLError(
                f"{_shown(name, use.flag, value)} does not work with task {task}{why}",
                f"use {instead}, or use it with task {named}",
            )


def settings(record: type, options: Mapping[str, Any], **computed: Any) -> Any:
    """The settings record (:mod:`automl.config`) of ``options``: each field takes the option
    of its name (or of the name its metadata gives); ``computed`` values win."""
    values = {}
    for f in fields(record):
        name = f.metadata.get(OPTION, f.name)
        if name is not None and f.name not in computed:
            values[f.name] = options[name]
    return record(**values, **computed)


def searcher_for(options: Mapping[str, Any]) -> str:
    """The searcher a search runs: the one given, else :data:`DEFAULT_SEARCHER` (TPE), except
    with a scheduler that takes no search algorithm (PBT), where the default is random search.
    An explicit ``--searcher tpe`` with PBT stays refused (:func:`check_combinations`)."""
    searcher = options.get("searcher")
    if searcher is not None:
        return searcher
    if (options.get("scheduler", TASK_OPTIONS["scheduler"].default), DEFAULT_SEARCHER) in REFUSED_PAIRS:
        return "random"
    return DEFAULT_SEARCHER


def check_combinations(options: Mapping[str, Any], given: Mapping[str, Any]) -> None:
    """Refuse pairs of options that cannot run together, and options that do nothing without
    another one (each value on its own is checked by :func:`checked_options`)."""
    scheduler, searcher = options.get("scheduler", TASK_OPTIONS["scheduler"].default), searcher_for(options)
    refused = REFUSED_PAIRS.get((scheduler, searcher))
    if refused:
        workable = [s for s in SEARCHERS if (scheduler, s) not in REFUSED_PAIRS]
        raise AutoMLError(
            f"--searcher {searcher} cannot run with --scheduler {scheduler}: {refused}",
            f"use --searcher {' or '.join(workable)} with --scheduler {scheduler}, or another --scheduler",
        )
    for (first, second), why in CONFLICTS.items():
        # `--input-kind tabular` keeps the table path, where every option works.
        if first in given and second in given and not (second == "input_kind" and given[second] == "tabular"):
            flag, other = TASK_OPTIONS[first].flag, TASK_OPTIONS[second].flag
            raise AutoMLError(f"{flag} / {first} does not work with {other} / {second}: {why}", f"drop {flag} or {other}")
    for name, (needed, value) in NEEDS.items():
        if name in given and options.get(needed) != value:
            flag, needed_flag = TASK_OPTIONS[name].flag, TASK_OPTIONS[needed].flag
            raise AutoMLError(
                f"{flag} / {name} does nothing with {needed_flag} / {needed}={options.get(needed)!r}", f"drop {flag} or {needed_flag}",
            )


def _shown(name: str, flag: str, value: Any) -> str:
    """``--scheduler / scheduler='pbt'``: the flag and the keyword, with a plain value."""
    plain = isinstance(value, (str, int, float)) and not isinstance(value, bool)
    return f"{flag} / {name}={value!r}" if plain else f"{flag} / {name}"
