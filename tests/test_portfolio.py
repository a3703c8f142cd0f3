"""The portfolio (search_spaces/portfolio.yaml): every entry builds in the space of its task and
input kind, entries the space cannot run are dropped with the reason, and a search runs the
portfolio first (random search and TPE), cut to its trial count."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from automl.registry import load_registry
from automl.portfolio import complete_entry, load_portfolio, resolve_portfolio
from automl.run_directory import RunDirectory
from automl.space import build_search_space, define_by_run_point, load_space_file, space_for_input_kind, strip_component_prefixes
from presets import HOLDOUT_NO_ENSEMBLE

TASKS = {"classification": ("binary", "multiclass"), "regression": ("regression",)}
INPUT_SHAPES = {"tabular": (6,), "sequence": (24, 2), "image": (1, 8, 8)}
# The spaces a search of each input kind uses by default, and the other shipped ones it may be given.
SPACES = {"tabular": ("default", "tabular"), "sequence": ("default",), "image": ("default",)}

TINY_SPACE = """
epochs: 1
batch_size: {choice: [32, 64]}
architectures: {include: [linear, mlp], mlp: {depth: {choice: [1, 2]}, width: {choice: [8, 128]}}}
losses: {include: [cross_entropy]}
optimizers: {include: [adamw]}
regularizers: {include: [dropout]}
"""
ENTRIES = [
    {"name": "small_mlp", "batch_size": 64, "architecture": {"name": "mlp", "depth": 1, "width": 8, "activation": "relu",
                                                             "normalization": "none"},
     "optimizer": {"name": "adamw", "lr": 5.0e-3, "weight_decay": 1.0e-3, "schedule": "constant", "warmup": 0.0},
     "regularizers": {"dropout": {"p": 0.1}}},
    {"name": "linear", "architecture": {"name": "linear"}, "optimizer": {"name": "adamw", "lr": 1.0e-2}},
    {"name": "needs_tabm", "architecture": {"name": "tabm"}},
]


def space_of(spec_or_name, task: str, kind: str = "tabular"):
    registry = load_registry()
    if isinstance(spec_or_name, str):
        spec, source = load_space_file(space_for_input_kind(spec_or_name, kind))
    else:
        spec, source = spec_or_name, "test"
    return build_search_space(registry, spec, task, kind, source), registry


def shipped_cases():
    for kind, groups in load_portfolio().items():
        for group, entries in groups.items():
            for task in TASKS[group]:
                for space in SPACES[kind]:
                    yield kind, task, space, len(entries)


@pytest.mark.parametrize("kind,task,space_name,count", list(shipped_cases()))
def test_every_shipped_entry_fits_and_builds_in_the_space_of_its_task_and_kind(kind, task, space_name, count):
    import torch

    from automl.training.building import build_model
    from automl.training.records import Components, DataFacts

    space, registry = space_of(space_name, task, kind)
    portfolio = resolve_portfolio(space, task, kind, registry=registry)
    assert portfolio.dropped == [] and len(portfolio.configs) == count
    components = Components.of(registry, {family: space.names(family) for family in space.components})
    output_size = 1 if task == "regression" else 3
    y = np.zeros(12) if task == "regression" else np.arange(12) % output_size
    facts = DataFacts.of(task, kind, output_size, y)
    for config in portfolio.configs:
        model = build_model(config, components, INPUT_SHAPES[kind], output_size, torch.device("cpu"), facts)
        assert sum(p.numel() for p in model.network.parameters()) > 0


def test_tables_get_a_linear_model_in_their_portfolio():
    for group, entries in load_portfolio()["tabular"].items():
        assert any(e["architecture"]["name"] == "linear" for e in entries), group


def test_an_entry_whose_component_the_space_excludes_is_dropped_and_says_why():
    space, registry = space_of(yaml.safe_load(TINY_SPACE), "multiclass")
    portfolio = resolve_portfolio(space, "multiclass", "tabular", entries=ENTRIES, registry=registry)
    assert portfolio.names == ["small_mlp", "linear"]
    assert portfolio.dropped == ["needs_tabm: architecture 'tabm' is not in the space"]
    assert "dropped 1: needs_tabm" in portfolio.summary()


def test_an_entry_for_a_component_not_installed_or_a_value_outside_the_space_is_dropped():
    space, registry = space_of(yaml.safe_load(TINY_SPACE), "multiclass")
    entries = [{"name": "ghost", "architecture": {"name": "no_such_net"}},
               {"name": "too_wide", "architecture": {"name": "mlp", "width": 512}},
               {"name": "big_batch", "batch_size": 256, "architecture": {"name": "linear"}}]
    portfolio = resolve_portfolio(space, "multiclass", "tabular", entries=entries, registry=registry)
    assert portfolio.configs == []
    assert portfolio.dropped[0] == "ghost: architecture 'no_such_net' is not installed"
    assert portfolio.dropped[1].startswith("too_wide: architecture 'mlp': width 512 is outside the space's choice [8, 128]")
    assert portfolio.dropped[2].startswith("big_batch: batch_size 256 is outside")


def test_an_entry_is_completed_with_the_space_canonical_values_and_unlisted_regularizers_off():
    space, _ = space_of(yaml.safe_load(TINY_SPACE), "multiclass")
    config = complete_entry(ENTRIES[1], space, seed=7)
    assert config == {
        "seed": 7, "epochs": 1, "min_steps_per_epoch": 32, "batch_size": 32, "architecture": {"name": "linear", "bias": True, "l2": pytest.approx(1e-3)},  # the log range's geometric middle
        "loss": {"name": "cross_entropy", "label_smoothing": 0.0},
        "optimizer": {"name": "adamw", "lr": 1.0e-2, "weight_decay": pytest.approx(np.sqrt(1e-4 * 0.1)),
                      "schedule": "constant", "warmup": 0.0},
        "regularizers": {"dropout": {"enabled": False}},
    }


def test_the_portfolio_is_cut_to_the_trial_count_first_entries_first():
    space, _ = space_of(yaml.safe_load(TINY_SPACE), "multiclass")
    portfolio = resolve_portfolio(space, "multiclass", "tabular", entries=ENTRIES)
    assert portfolio.first(1).names == ["small_mlp"]
    assert portfolio.first(None).names == portfolio.first(-1).names == ["small_mlp", "linear"]


def test_an_entry_as_an_optuna_point_makes_define_by_run_suggest_exactly_its_config():
    import optuna
    from ray.tune.utils.util import unflatten_dict

    space, _ = space_of(yaml.safe_load(TINY_SPACE), "multiclass")
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0, multivariate=True, group=True))
    configs = resolve_portfolio(space, "multiclass", "tabular", seed=3, entries=ENTRIES).configs
    for config in configs:
        study.enqueue_trial(define_by_run_point(config, space))
    for config in configs:
        trial = study.ask()
        constants = space.define_by_run(3)(trial)
        # As Ray's OptunaSearch: the suggested values with the constants the function returned.
        suggested = strip_component_prefixes(unflatten_dict({**trial.params, **constants}))
        assert suggested == config


def test_portfolio_yaml_is_not_offered_as_a_search_space():
    from automl.errors import AutoMLError

    with pytest.raises(AutoMLError) as error:
        load_space_file("portfolio")
    assert "portfolio" not in error.value.fix


def test_the_default_searcher_is_tpe_and_with_pbt_random():
    from automl.api import AutoML
    from automl.errors import AutoMLError

    assert AutoML().search_config.searcher == "tpe"
    assert AutoML(scheduler="pbt").search_config.searcher == "random"
    assert AutoML(searcher="random").search_config.searcher == "random"
    with pytest.raises(AutoMLError, match="--searcher tpe cannot run with --scheduler pbt"):
        AutoML(searcher="tpe", scheduler="pbt")


@pytest.mark.slow
@pytest.mark.parametrize("searcher", ["random", "tpe"])
def test_a_search_runs_the_portfolio_first_then_explores(searcher, ray_session, blobs_frame, tiny_space, tmp_path, monkeypatch):
    import automl.portfolio
    from automl.api import AutoML

    monkeypatch.setattr(automl.portfolio, "load_portfolio", lambda path=None: {"tabular": {"classification": ENTRIES}})
    space_path = tiny_space(TINY_SPACE)
    result = AutoML(target="species", space=space_path, num_trials=3, searcher=searcher, scheduler="fifo", max_concurrent=1,
                    seed=3, wandb=False, report=False, output=tmp_path / "run", **HOLDOUT_NO_ENSEMBLE).fit(blobs_frame)
    records = RunDirectory(result.run_dir).read_trials()
    records.sort(key=lambda r: r.metrics["timestamp"])
    space, _ = space_of(yaml.safe_load(TINY_SPACE), "multiclass")
    expected = resolve_portfolio(space, "multiclass", "tabular", seed=3, entries=ENTRIES).configs
    assert len(records) == 3
    for record, config in zip(records, expected):
        assert {k: record.config[k] for k in config} == config
    assert {k: records[2].config[k] for k in expected[0]} not in expected


def test_random_search_runs_whole_configs_first_and_its_saved_state_continues_after_them():
    from ray import cloudpickle, tune
    from ray.tune.experiment import Experiment

    from automl.engine.searchers import _portfolio_first_generator

    generator_class = _portfolio_first_generator()
    points = [{"seed": 0, "architecture": {"name": "linear"}}, {"seed": 0, "architecture": {"name": "mlp", "width": 3}}]
    space = {"seed": 0, "architecture": tune.choice([{"name": "linear"}, {"name": "mlp", "width": tune.choice([1, 2])}])}
    generator = generator_class(points_to_evaluate=points, random_state=0)
    generator.add_configurations(Experiment("portfolio", lambda config: None, config=space, num_samples=4))
    assert generator.next_trial().config == points[0]
    restored = generator_class()  # as Tune restores a searcher on resume (cloudpickle of its state)
    restored.set_state(cloudpickle.loads(cloudpickle.dumps(generator.get_state())))
    configs = [restored.next_trial().config for _ in range(3)]
    assert configs[0] == points[1] and configs[1]["architecture"]["width"] in (1, 2)
    assert restored.next_trial() is None and restored.total_samples == 4


def test_a_space_with_grid_domains_is_seen_by_random_search_which_enumerates_them():
    space, _ = space_of(yaml.safe_load(TINY_SPACE), "multiclass")
    assert not space.has_grid()
    gridded, _ = space_of(yaml.safe_load(TINY_SPACE.replace("depth: {choice: [1, 2]}", "depth: {grid: [1, 2]}")), "multiclass")
    assert gridded.has_grid()
