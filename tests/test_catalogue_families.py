"""The model families of issue 19 for tables and images (linear, realmlp, tabm, resnet): each
builds for every input shape and task it claims, trains, exports, is listed and searched.

What each claims, and that it trains on each claimed input kind and is offered nowhere else, is
pinned with every other architecture in tests/test_catalogue_architectures.py."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from automl.cli import main
from automl.export.capture import save_module
from automl.registry import load_registry
from automl.space import build_search_space, load_space_file
from automl.training.building import build_model, build_network
from automl.training.loop import predict_outputs, train_epochs
from automl.training.records import DataFacts
from catalogue_helpers import (
    first_values, loss_before_and_after, make_config, registry_components,
)

# Tiny models in this process train fastest on one thread (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("one_torch_thread")

EXPECTED_KINDS = {  # as in tests/test_catalogue_architectures.py, which checks the claims
    "linear": {"tabular", "image", "sequence"},
    "realmlp": {"tabular"},
    "tabm": {"tabular"},
    "resnet": {"image"},
}
EXPECTED_PLUGIN = {"linear": "linear", "realmlp": "realmlp", "tabm": "tabm", "resnet": "resnet"}
CASES = [(name, kind) for name, kinds in EXPECTED_KINDS.items() for kind in sorted(kinds)]
# Input shapes per kind, the sizes each family claims: tables of 1 and 7 features, 8-64 px images.
SHAPES = {
    "tabular": [(1,), (7,)],
    "image": [(1, 8, 8), (3, 16, 24), (3, 32, 32), (1, 64, 64)],
    "sequence": [(12, 3)],
}
OUTPUT_SIZES = {"binary": 2, "multiclass": 3, "regression": 1}


@pytest.fixture(scope="module")
def registry():
    return load_registry()


def built(registry, name: str, shape, task: str, output_size: int, pick: int = 0, **override):
    hparams = {**first_values(registry.get("architectures", name).spec.space, pick), **override}
    facts = DataFacts(task, "tabular" if len(shape) == 1 else "image", output_size).for_builders()
    network, _ = build_network({"architecture": {"name": name, **hparams}}, registry_components(), shape, output_size, facts)
    return network


@pytest.mark.parametrize("task", sorted(OUTPUT_SIZES))
@pytest.mark.parametrize("name,kind", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_family_maps_every_claimed_shape_to_one_output_per_class_or_target(registry, name, kind, task):
    assert task in registry.get("architectures", name).spec.tasks
    for shape in SHAPES[kind]:
        network = built(registry, name, shape, task, OUTPUT_SIZES[task]).eval()
        with torch.no_grad():
            outputs = network(torch.randn(5, *shape))
        assert outputs.shape == (5, OUTPUT_SIZES[task]) and torch.isfinite(outputs).all(), (name, shape)


@pytest.mark.parametrize("name,kind", [(n, sorted(k)[-1]) for n, k in EXPECTED_KINDS.items()])
def test_family_training_lowers_a_regression_loss(registry, name, kind):
    hparams = first_values(registry.get("architectures", name).spec.space)
    config = make_config({"name": name, **hparams}, loss={"name": "mse"}, epochs=10)
    before, after, _, _ = loss_before_and_after(config, kind, task="regression")
    assert after < 0.5 * before, f"{name} on {kind}: mse {before:.3f} -> {after:.3f}"


@pytest.mark.parametrize("space,kind,tasks,expected", [
    ("tabular", "tabular", ("binary", "multiclass", "regression"), {"linear", "mlp", "realmlp", "tabm", "ft_transformer"}),
    ("image", "image", ("binary", "multiclass"), {"cnn2d", "resnet"}),  # image.yaml's losses classify
])
def test_the_input_kinds_own_space_searches_the_new_families(registry, space, kind, tasks, expected):
    spec, source = load_space_file(space)
    for task in tasks:
        assert set(build_search_space(registry, spec, task, kind, source).names("architectures")) == expected


def test_automl_plugins_lists_each_family_with_its_plugin(capsys):
    assert main(["plugins"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[1:]]
    # columns: family, name, qualified name (package:name), plugin, package, version, tasks, inputs
    found = {row[1]: row[3] for row in rows if len(row) > 3 and row[0] == "architecture"}
    assert {name: found.get(name) for name in EXPECTED_PLUGIN} == EXPECTED_PLUGIN


@pytest.mark.parametrize("fmt", ["torchscript", "torch-export"])
@pytest.mark.parametrize("name,kind", [(n, sorted(k)[-1]) for n, k in EXPECTED_KINDS.items()])
def test_family_is_scripted_for_export_and_predicts_the_same(registry, name, kind, fmt, tmp_path):
    shape = SHAPES[kind][0 if kind != "tabular" else 1]
    network = built(registry, name, shape, "multiclass", 3).eval()
    example = (torch.randn(4, *shape),)
    path = tmp_path / "model"
    captured_by = save_module(network, example, fmt, path)
    assert captured_by == ("torch.jit.script" if fmt == "torchscript" else "torch.export")
    loaded = torch.jit.load(str(path)) if fmt == "torchscript" else torch.export.load(str(path)).module()
    rows = torch.randn(7, *shape)  # another batch size than the example's
    with torch.no_grad():
        torch.testing.assert_close(loaded(rows), network(rows), atol=1e-5, rtol=1e-5)


def test_a_tabm_artifact_exports_and_the_module_matches_automl_predict(blobs_frame, tmp_path):
    from artifact_helpers import build_artifact

    from automl.export import encode_rows
    from automl.predictor import load

    architecture = {"name": "tabm", "k": 4, "depth": 2, "width": 16, "adapters": "all", "embedding": "plr"}
    artifact = build_artifact(blobs_frame, "species", tmp_path / "model", architecture=architecture)
    assert main(["export", str(artifact), "-o", str(tmp_path / "export")]) == 0
    preprocessing = json.loads((tmp_path / "export" / "preprocessing.json").read_text())
    assert preprocessing["captured_by"] == "torch.jit.script"
    rows = blobs_frame.drop(columns=["species"]).head(15)
    module = torch.jit.load(str(tmp_path / "export" / "model.torchscript.pt"))
    with torch.no_grad():
        probabilities = module(*encode_rows(rows, preprocessing)).numpy()
    np.testing.assert_allclose(probabilities, load(artifact).predict_proba(rows), atol=1e-5)


# ---- what each family promises beyond shapes


def fitted_linear(X, y, task: str, l2: float, loss: dict, epochs: int = 30, regularizers: dict | None = None):
    """A ``linear`` trial's model after ``train_epochs`` on all of ``X``, and the epochs it reported."""
    output_size = 1 if task == "regression" else int(y.max()) + 1
    config = make_config({"name": "linear", "bias": True, "l2": l2}, loss=loss, regularizers=regularizers,
                         optimizer={"name": "adam", "lr": 0.05}, epochs=epochs, batch_size=32)
    facts = DataFacts.of(task, "tabular", output_size, y)
    model = build_model(config, registry_components(), X.shape[1:], output_size, torch.device("cpu"), facts)
    history = list(train_epochs(model, X, y, epochs, 32, torch.device("cpu"), 0))
    return model, history


def test_linear_is_fitted_to_the_ridge_optimum_in_its_first_epoch_and_ends_there():
    """Mean squared error + l2 * |w|² has the minimum of scikit-learn's Ridge(alpha=l2 * n): the
    linear trial reaches it in epoch 1 (no scheduler sees it half-trained) and stops."""
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(4)
    X = rng.normal(0, 1, (300, 6)).astype(np.float32)
    y = (X @ np.arange(1.0, 7.0) + 2.0 + rng.normal(0, 1, 300)).astype(np.float32).reshape(-1, 1)
    for l2 in (1e-4, 0.05, 1.0):
        model, history = fitted_linear(X, y, "regression", l2, {"name": "mse"})
        assert len(history) == 1 and "optimum" in history[0]["stop_reason"]
        ridge = Ridge(alpha=l2 * len(X)).fit(X, y.ravel())
        np.testing.assert_allclose(model.network.linear.weight.detach().numpy().ravel(), ridge.coef_, rtol=1e-3, atol=1e-4)
        np.testing.assert_allclose(float(model.network.linear.bias.detach()), ridge.intercept_, rtol=1e-3, atol=1e-4)
    assert np.linalg.norm(ridge.coef_) < 0.8 * np.linalg.norm(np.arange(1.0, 7.0))  # the largest l2 really shrinks


@pytest.mark.parametrize("classes", [2, 3])
def test_linear_is_fitted_to_the_logistic_regression_optimum(classes):
    """Mean cross-entropy + l2 * |W|² is scikit-learn's LogisticRegression with C = 1 / (2 l2 n)
    (softmax regression), or C = 1 / (l2 n) for two classes: two logit rows W1, W2 are one weight
    vector W1 - W2 whose penalty at the optimum (W1 = -W2) is half its squared norm."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(5)
    X = rng.normal(0, 1, (240, 5)).astype(np.float32)
    y = np.argmax(X[:, :classes] + 0.3 * rng.normal(0, 1, (240, classes)), axis=1).astype(np.int64)
    l2 = 1e-3
    model, history = fitted_linear(X, y, "multiclass", l2, {"name": "cross_entropy"})
    assert len(history) == 1
    probabilities = torch.softmax(torch.as_tensor(predict_outputs(model.network, X, torch.device("cpu"))), 1).numpy()
    logistic = LogisticRegression(C=1 / ((1 if classes == 2 else 2) * l2 * len(X)), tol=1e-10, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(probabilities, logistic.predict_proba(X), atol=2e-3)


def test_a_penalty_regularizer_adds_to_the_linear_model_s_own_l2():
    """The trial's l2 regularizer (strength * |w|², the bias free) counts in the fit as the
    architecture's own l2 does: l2 0 plus strength s is Ridge(alpha=s * n)."""
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(6)
    X = rng.normal(0, 1, (200, 5)).astype(np.float32)
    y = (X @ np.arange(1.0, 6.0) + rng.normal(0, 1, 200)).astype(np.float32).reshape(-1, 1)
    model, _ = fitted_linear(X, y, "regression", 0.0, {"name": "mse"}, regularizers={"l2": {"enabled": True, "strength": 0.5}})
    ridge = Ridge(alpha=0.5 * len(X)).fit(X, y.ravel())
    np.testing.assert_allclose(model.network.linear.weight.detach().numpy().ravel(), ridge.coef_, rtol=1e-3, atol=1e-4)


def test_realmlp_smooth_clipping_bounds_outliers_and_keeps_small_values():
    from automl_plugins.realmlp import SmoothClip

    clipped = SmoothClip()(torch.tensor([0.1, -0.5, 1e6, -1e6]))
    assert abs(clipped[0] - 0.1) < 1e-3 and abs(clipped[1] + 0.5) < 1e-2
    assert 2.9 < clipped[2] <= 3.0 and -3.0 <= clipped[3] < -2.9


@pytest.mark.parametrize("name,parameter,check", [
    ("realmlp", "embed.frequencies", lambda p: 0.05 < float(p.detach().std()) < 0.2),  # N(0, 0.1²), not He
    ("tabm", "layers.0.adapter_in", lambda p: bool((p.abs() == 1).all()) and bool((p < 0).any())),  # random signs
])
def test_searched_initialization_keeps_a_familys_own_parameter_scales(registry, name, parameter, check):
    config = {"architecture": {"name": name, **first_values(registry.get("architectures", name).spec.space)},
              "regularizers": {"initialization": {"enabled": True, "scheme": "kaiming_normal"}}}
    network, _ = build_network(config, registry_components(), (6,), 2, {"task": "binary"})
    assert check(dict(network.named_parameters())[parameter])


def test_dropout_follows_each_realmlp_activation(registry):
    """SELU and Mish count as activations, so the dropout regularizer lands after each block."""
    for activation in ("selu", "mish"):
        config = {"architecture": {"name": "realmlp", "depth": 3, "width": 16, "activation": activation},
                  "regularizers": {"dropout": {"enabled": True, "p": 0.15}}}
        network, _ = build_network(config, registry_components(), (6,), 2, {"task": "binary"})
        assert sum(isinstance(m, torch.nn.Dropout) for m in network.modules()) == 3, activation


def test_tabm_predicts_the_mean_of_its_members_probabilities(registry):
    network = built(registry, "tabm", (6,), "multiclass", 3, k=8, depth=2, width=16, adapters="all").eval()
    x = torch.randn(10, 6)
    with torch.no_grad():
        members = network.member_outputs(x)  # (N, k, classes)
        averaged = torch.softmax(network(x), dim=1)
    assert members.shape == (10, 8, 3)
    assert not torch.allclose(members[:, 0], members[:, 1])  # the members differ
    torch.testing.assert_close(averaged, torch.softmax(members, dim=-1).mean(dim=1))


def test_tabm_regression_predicts_the_mean_of_its_members(registry):
    network = built(registry, "tabm", (6,), "regression", 1, k=4, depth=1, width=16, adapters="mini").eval()
    x = torch.randn(10, 6)
    with torch.no_grad():
        torch.testing.assert_close(network(x), network.member_outputs(x).mean(dim=1))


def test_families_benchmark_scores_every_contender_on_the_platforms_split():
    from bench import families

    rows = families.run(["wine"], [0], epochs=1, image_epochs=1)
    assert [r["contender"] for r in rows] == ["sklearn_logistic_regression", *families.TABLE_CONTENDERS]
    assert all(0.0 <= r["test"] <= 1.0 for r in rows)
    assert all(r["best_epoch"] == 1 and 0.0 <= r["test_best_val_epoch"] <= 1.0 for r in rows[1:])
    assert "| wine | tabm |" in families.summary_table(rows)


def test_a_linear_trial_with_dropout_reaches_the_same_optimum():
    """Dropout, which a searched config may switch on, wraps the affine map; the fit to the
    optimum runs without it and finds the same weights."""
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(7)
    X = rng.normal(0, 1, (200, 4)).astype(np.float32)
    y = (X @ np.arange(1.0, 5.0) + rng.normal(0, 1, 200)).astype(np.float32).reshape(-1, 1)
    model, history = fitted_linear(X, y, "regression", 0.01, {"name": "mse"}, regularizers={"dropout": {"enabled": True, "p": 0.5}})
    assert isinstance(model.network.linear, torch.nn.Sequential)  # the dropout is in the network
    weights = next(m for m in model.network.modules() if isinstance(m, torch.nn.Linear)).weight.detach().numpy().ravel()
    np.testing.assert_allclose(weights, Ridge(alpha=0.01 * len(X)).fit(X, y.ravel()).coef_, rtol=1e-3, atol=1e-4)
    assert len(history) == 1


def test_linear_trials_score_and_choose_l2_on_the_folds_as_ridge_does(tmp_path):
    """Each linear trial of a cross-validated search scores, fold by fold, what scikit-learn's
    Ridge fitted on the same fold's prepared rows scores, so the l2 the folds choose among trials
    is the alpha Ridge's cross-validation over the same values and folds chooses (RidgeCV's rule,
    one alpha per fold size)."""
    import pandas as pd
    from in_process import RecordingSession
    from sklearn.linear_model import Ridge

    from automl.config import DataConfig
    from automl.data import prepare_data
    from automl.tasks import task_named
    from automl.training.records import TrainingSet
    from automl.training.trainable import train_trial

    rng = np.random.default_rng(8)
    X = rng.normal(0, 1, (300, 12))
    y = X[:, :3] @ np.array([3.0, -2.0, 1.0]) + 40.0 + 4.0 * rng.normal(0, 1, 300)  # 9 columns of noise
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(12)]).assign(y=y)
    prepared = prepare_data(frame, DataConfig(target="y", task="regression", validation="cv:5"))
    data, task = TrainingSet.of(prepared), task_named("regression")
    trial_rmse, ridge_rmse = {}, {}
    for l2 in (1e-4, 1e-2, 1e-1, 1.0):
        config = make_config({"name": "linear", "bias": True, "l2": l2}, loss={"name": "mse"}, epochs=30, batch_size=32)
        session = RecordingSession(tmp_path / f"l2_{l2}")
        session.trial_dir.mkdir()
        train_trial(config, data, registry_components(), task, session=session)
        assert len(session.epochs) == 1 and "optimum" in session.epochs[0]["stop_reason"]
        trial_rmse[l2] = session.epochs[0]["val_rmse"]
        per_fold = []
        for fold in prepared.folds:
            variant = fold.variant(None)
            ridge = Ridge(alpha=l2 * len(fold.y_train)).fit(variant.X_train, fold.y_train.ravel())
            error = (ridge.predict(variant.X_val) - fold.y_val.ravel()) * fold.target_encoder.std_  # in y's units
            per_fold.append(float(np.sqrt(np.mean(error ** 2))))
        ridge_rmse[l2] = float(np.mean(per_fold))
    for l2 in trial_rmse:
        assert trial_rmse[l2] == pytest.approx(ridge_rmse[l2], rel=1e-3), (l2, trial_rmse, ridge_rmse)
    assert min(trial_rmse, key=trial_rmse.get) == min(ridge_rmse, key=ridge_rmse.get)
    assert max(trial_rmse.values()) > 1.05 * min(trial_rmse.values())  # the choice matters on these rows
