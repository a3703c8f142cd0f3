"""Search spaces: YAML + registry → a conditional Ray Tune space, and clear errors for bad files."""

from __future__ import annotations

import json

import pytest
from ray.tune.search.variant_generator import generate_variants

from automl.cli import main
from automl.errors import AutoMLError
from automl.registry import load_registry
from automl.space import build_search_space, find_space_file, load_space_file
from automl.space_view import describe_domain


@pytest.fixture(scope="module")
def registry():
    return load_registry()


def sample_configs(space, n=20):
    configs = []
    for seed in range(n):
        for _, config in generate_variants(space.to_tune(seed)):
            configs.append(config)
    return configs


@pytest.mark.parametrize(
    "name, task, input_kind",
    [("default", "multiclass", "tabular"), ("default", "regression", "tabular"), ("quick", "binary", "tabular"),
     ("tabular", "regression", "tabular"), ("image", "multiclass", "image"), ("sequence", "regression", "sequence"),
     ("text", "binary", "text"), ("generate", "generate", "tabular")],
)
def test_every_shipped_space_resolves_and_samples(registry, name, task, input_kind):
    spec, source = load_space_file(name)
    space = build_search_space(registry, spec, task, input_kind, source)
    for config in sample_configs(space, 3):
        assert config["architecture"]["name"] in space.names("architectures")
        assert set(config["architecture"]) - {"name"} <= set(registry.get("architectures", config["architecture"]["name"]).spec.space)


def test_optuna_draws_the_preprocessing_dimension(registry):
    import optuna
    from ray.tune.utils.util import unflatten_dict

    from automl.space import strip_component_prefixes

    spec, source = load_space_file("tabular")
    space = build_search_space(registry, spec, "multiclass", "tabular", source)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    drawn = set()
    for _ in range(12):
        trial = study.ask()
        config = strip_component_prefixes(unflatten_dict({**space.define_by_run(0)(trial), **trial.params}))
        drawn.add((config["preprocessing"]["imputer"], config["preprocessing"]["scaler"]))
    assert drawn <= {(i, s) for i in ("median", "most_frequent") for s in ("standard", "robust")} and len(drawn) > 1


def test_each_component_brings_only_its_own_hyperparameters(registry):
    spec = {"optimizers": {"include": ["adam", "sgd"]}}
    space = build_search_space(registry, spec, "multiclass", "tabular")
    configs = sample_configs(space, 40)
    names = {c["optimizer"]["name"] for c in configs}
    assert names == {"adam", "sgd"}
    for config in configs:
        name = config["optimizer"]["name"]
        assert set(config["optimizer"]) - {"name"} == set(registry.get("optimizers", name).spec.space)


def test_losses_are_offered_only_for_the_task_they_fit(registry):
    classification = build_search_space(registry, {}, "binary", "tabular")
    regression = build_search_space(registry, {}, "regression", "tabular")
    assert "cross_entropy" in classification.names("losses") and "mse" not in classification.names("losses")
    assert "mse" in regression.names("losses") and "cross_entropy" not in regression.names("losses")


def test_yaml_overrides_a_plugins_space_and_fixes_a_regularizer_on(registry, tiny_space):
    path = tiny_space(
        "epochs: 3\nbatch_size: 16\narchitectures:\n  include: [mlp]\n  mlp:\n    width: 32\n"
        "regularizers:\n  include: [dropout]\n  dropout:\n    enabled: true\n    p: 0.25\n"
    )
    spec, source = load_space_file(path)
    space = build_search_space(registry, spec, "multiclass", "tabular", source)
    for config in sample_configs(space, 5):
        assert config["architecture"]["width"] == 32
        assert config["regularizers"] == {"dropout": {"enabled": True, "p": 0.25}}
        assert config["epochs"] == 3


def test_every_sampler_and_the_portfolio_carry_the_spaces_budget_unit(registry):
    """``min_steps_per_epoch`` reaches every trial config: random / grid, Optuna, portfolio."""
    import optuna

    from automl.portfolio import complete_entry
    from automl.space import MIN_STEPS_PER_EPOCH

    default = build_search_space(registry, {"architectures": {"include": ["mlp"]}}, "multiclass", "tabular")
    assert all(c["min_steps_per_epoch"] == MIN_STEPS_PER_EPOCH == 32 for c in sample_configs(default, 3))
    space = build_search_space(registry, {"min_steps_per_epoch": 1, "architectures": {"include": ["mlp"]}}, "multiclass", "tabular")
    assert all(c["min_steps_per_epoch"] == 1 for c in sample_configs(space, 3))
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
    assert space.define_by_run(0)(trial)["min_steps_per_epoch"] == 1
    assert complete_entry({"architecture": {"name": "mlp"}}, space)["min_steps_per_epoch"] == 1


@pytest.mark.parametrize("value", [0, 2.5, {"choice": [8, 32]}, True])
def test_a_budget_unit_that_is_not_a_positive_whole_number_is_refused(registry, value):
    with pytest.raises(AutoMLError, match=r"min_steps_per_epoch.*whole number of optimizer steps"):
        build_search_space(registry, {"min_steps_per_epoch": value}, "multiclass", "tabular")


def test_an_unknown_component_is_named_with_the_known_ones(registry):
    with pytest.raises(AutoMLError, match=r"unknown architecture .transformerz.*use one of: .*mlp"):
        build_search_space(registry, {"architectures": {"include": ["transformerz"]}}, "multiclass", "tabular")


def test_an_unknown_hyperparameter_names_the_allowed_ones(registry):
    with pytest.raises(AutoMLError, match=r"architectures.mlp.widht\): not a hyperparameter.*width"):
        build_search_space(registry, {"architectures": {"mlp": {"widht": 3}}}, "multiclass", "tabular")


def test_a_malformed_domain_is_a_clear_error(registry):
    with pytest.raises(AutoMLError, match=r"optimizers.adam.lr\): loguniform takes 2 numbers"):
        build_search_space(registry, {"optimizers": {"adam": {"lr": {"loguniform": [0.1]}}}}, "multiclass", "tabular")


def test_an_unknown_space_name_lists_the_shipped_ones():
    with pytest.raises(AutoMLError, match=r"unknown search space 'nope'.*default.*quick"):
        find_space_file("nope")


def _json_form(value):
    return json.loads(json.dumps(value))


def test_space_show_prints_the_resolved_space_as_a_search_builds_it(registry, capsys):
    assert main(["space", "show", "quick", "--task", "multiclass", "--format", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    spec, source = load_space_file("quick")
    space = build_search_space(registry, spec, "multiclass", "tabular", source)
    assert shown["components"] == _json_form(space.components)
    assert (shown["epochs"], shown["batch_size"], shown["task"]) == (12, {"choice": [32, 64]}, "multiclass")
    assert list(shown["components"]["architectures"]) == ["mlp"]  # quick.yaml's include
    assert shown["components"]["architectures"]["mlp"]["width"] == {"choice": [128, 256]}  # quick.yaml's override
    assert "cross_entropy" in shown["components"]["losses"] and "mse" not in shown["components"]["losses"]


def test_space_show_text_has_each_hyperparameter_after_the_yaml_overrides(tiny_space, capsys):
    path = tiny_space("architectures:\n  include: [mlp]\n  mlp:\n    width: {choice: [24, 48]}\n    depth: 2\n")
    assert main(["space", "show", str(path), "--task", "regression"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert ["architecture", "mlp", "width", "one", "of", "24,", "48"] in rows
    assert ["architecture", "mlp", "depth", "2"] in rows
    assert ["architecture", "mlp", "activation", "one", "of", "relu,", "gelu,", "tanh,", "silu"] in rows  # the plugin's own
    assert any(row[:2] == ["loss", "mse"] for row in rows) and not any(row[:2] == ["loss", "cross_entropy"] for row in rows)


def test_space_show_follows_the_task_and_input_kind(capsys):
    assert main(["space", "show", "--task", "multiclass", "--input-kind", "image", "--format", "json"]) == 0
    architectures = json.loads(capsys.readouterr().out)["components"]["architectures"]
    assert "cnn2d" in architectures and "cnn1d" not in architectures


def test_space_show_with_an_unknown_space_is_one_line(capsys):
    assert main(["space", "show", "nope", "--task", "binary"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown search space 'nope'" in err[0]


@pytest.mark.parametrize(
    "domain, words",
    [(0.1, "0.1"), ({"choice": [64, 128]}, "one of 64, 128"), ({"grid": [1, 2]}, "each of 1, 2 (grid)"),
     ({"randint": [1, 4]}, "integer 1 to 3"), ({"qrandint": [8, 64, 8]}, "integer 8 to 64, step 8"),
     ({"loguniform": [0.0001, 0.01]}, "log-uniform 0.0001 to 0.01"), ({"quniform": [0, 1, 0.25]}, "uniform 0 to 1, step 0.25")],
)
def test_a_domain_reads_as_the_values_it_can_take(domain, words):
    assert describe_domain(domain) == words
