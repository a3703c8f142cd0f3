"""The time-series classifiers (FCN, ResNet, InceptionTime) and their augmentation: each builds
for every sequence shape and task it claims, learns, exports, and is listed and offered."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from artifact_helpers import build_artifact
from series_helpers import wide_series

import automl
from automl.cli import main
from automl.components import INPUT_KINDS
from automl.export import export_artifact
from automl.registry import load_registry
from automl.space import build_search_space, load_space_file
from automl.training.building import build_network
from automl.training.records import DataFacts
from automl_plugins.augmentation import SequenceWindowWarp
from automl_plugins.timeseries import PUBLISHED_DEFAULTS
from catalogue_helpers import (
    first_values, loss_before_and_after, make_config, registry_components,
)

# Tiny models in this process train fastest on one thread (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("one_torch_thread")

NAMES = ("fcn", "resnet1d", "inception_time")
TASKS = ("binary", "multiclass", "regression")
# Univariate, multivariate, a length shorter than every kernel, a UCR-like length.
SHAPES = [(12, 1), (12, 3), (3, 2), (150, 1)]


@pytest.fixture(scope="module")
def registry():
    return load_registry()


def _network(name: str, shape, output_size: int, task: str = "multiclass", **hparams):
    facts = DataFacts(task, "sequence", output_size).for_builders()
    network, _ = build_network({"architecture": {"name": name, **hparams}}, registry_components(), shape, output_size, facts)
    return network.eval()


@pytest.mark.parametrize("name", NAMES)
def test_each_claims_sequences_only_for_the_supervised_tasks(registry, name):
    for task in (*TASKS, "cluster", "generate"):
        for kind in INPUT_KINDS:
            offered = name in build_search_space(registry, {}, task, kind).names("architectures") if task in TASKS else \
                registry.get("architectures", name).fits(task, kind)
            assert offered == (kind == "sequence" and task in TASKS), (name, task, kind)


@pytest.mark.parametrize("shape", SHAPES, ids=[f"T{t}xF{f}" for t, f in SHAPES])
@pytest.mark.parametrize("task,output_size", [("binary", 2), ("multiclass", 5), ("regression", 1)])
@pytest.mark.parametrize("name", NAMES)
def test_published_architecture_maps_each_sequence_shape_to_one_output_per_class_or_target(name, task, output_size, shape):
    network = _network(name, shape, output_size, task)
    with torch.no_grad():
        assert network(torch.randn(4, *shape)).shape == (4, output_size)


@pytest.mark.parametrize("pick", [0, -1], ids=["first-choices", "last-choices"])
@pytest.mark.parametrize("name", NAMES)
def test_training_a_few_epochs_lowers_the_loss(registry, name, pick):
    hparams = first_values(registry.get("architectures", name).spec.space, pick)
    before, after, _, _ = loss_before_and_after(make_config({"name": name, **hparams}, epochs=4, optimizer={"name": "adam", "lr": 3e-3}),
                                                "sequence")
    assert after < 0.7 * before, f"{name} with {hparams}: loss {before:.3f} -> {after:.3f}"


@pytest.mark.parametrize("name", NAMES)
def test_regression_training_lowers_the_loss(registry, name):
    hparams = first_values(registry.get("architectures", name).spec.space)
    config = make_config({"name": name, **hparams}, loss={"name": "mse"}, epochs=4, optimizer={"name": "adam", "lr": 3e-3})
    before, after, _, _ = loss_before_and_after(config, "sequence", task="regression")
    assert after < 0.7 * before, f"{name}: loss {before:.3f} -> {after:.3f}"


@pytest.mark.parametrize("name", NAMES)
def test_torchscript_and_torch_export_give_the_same_outputs_for_any_batch_size(name):
    network = _network(name, (20, 2), 3)
    example = torch.randn(5, 20, 2)
    scripted = torch.jit.script(network)  # scripted, not traced: no Python-only control flow
    batch = torch.export.Dim("batch", min=1)
    exported = torch.export.export(network, (example,), dynamic_shapes=({0: batch},)).module()
    with torch.no_grad():
        expected = network(example)
        assert torch.allclose(scripted(example), expected, atol=1e-5)
        assert torch.allclose(exported(example), expected, atol=1e-5)
        assert scripted(example[:2]).shape == (2, 3)


def test_published_defaults_are_the_builders_defaults_and_resolve_in_the_sequence_space(registry):
    """The portfolio entries are the papers' settings, and each is a config the sequence space can produce."""
    spec, source = load_space_file("sequence")
    space = build_search_space(registry, spec, "multiclass", "sequence", source)
    for name, config in PUBLISHED_DEFAULTS.items():
        assert config["architecture"]["name"] == name and name in space.names("architectures")
        published = _network(name, (30, 1), 2, **{k: v for k, v in config["architecture"].items() if k != "name"})
        plain = _network(name, (30, 1), 2)
        assert sum(p.numel() for p in published.parameters()) == sum(p.numel() for p in plain.parameters())
        assert config["optimizer"]["name"] in space.names("optimizers") and config["optimizer"]["lr"] == 1e-3


def test_fcn_and_resnet_have_the_published_widths():
    fcn = _network("fcn", (30, 1), 2)
    assert [m.out_channels for m in fcn.modules() if isinstance(m, torch.nn.Conv1d)] == [128, 256, 128]
    resnet = _network("resnet1d", (30, 1), 2)
    blocks = [m for m in resnet.modules() if type(m).__name__ == "ResidualBlock"]
    assert [b.body[0][0].out_channels for b in blocks] == [64, 128, 128]
    inception = _network("inception_time", (30, 3), 2)
    modules = [m for m in inception.modules() if type(m).__name__ == "InceptionModule"]
    assert len(modules) == 6 and [c.kernel_size[0] for c in modules[1].convs] == [39, 19, 9]


def test_automl_plugins_lists_the_time_series_architectures_from_their_plugin(capsys):
    assert main(["plugins"]) == 0
    header, *rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    plugin = header.index("plugin") - 1  # "qualified name" is two words of the header, one of a row
    for name in (*NAMES, "window_warp"):
        row = next(r for r in rows if len(r) > 2 and r[1] == name)
        assert row[2] == f"automl-torch:{name}"
        assert row[plugin] == ("augmentation" if name == "window_warp" else "timeseries")


def test_window_warp_keeps_shape_and_targets_and_moves_values_in_time():
    torch.manual_seed(0)
    series = torch.linspace(0, 1, 50).repeat(8, 1).unsqueeze(-1)  # a ramp: values encode time
    targets = torch.arange(8)
    out, same = SequenceWindowWarp(slice_ratio=0.2, warp_ratio=0.2).transform_batch(series, targets)
    assert out.shape == series.shape and same is targets
    assert not torch.allclose(out, series)
    assert (out.diff(dim=1) >= -1e-6).all()  # time is warped, never reversed
    assert out.min() >= 0 and out.max() <= 1  # interpolated, not extrapolated
    untouched, _ = SequenceWindowWarp(slice_ratio=0.0, warp_ratio=0.0).transform_batch(series, targets)
    assert torch.allclose(untouched, series, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_a_saved_model_exports_scripted_and_predicts_what_the_predictor_does(registry, name, tmp_path):
    """The whole path a user takes: a wide series table → artifact → `automl export` → torch alone."""
    frame = wide_series([f"t{i}" for i in range(20)], n=60)
    hparams = first_values(registry.get("architectures", name).spec.space)
    artifact = build_artifact(frame, "label", tmp_path / "model", architecture={"name": name, **hparams})
    path = export_artifact(artifact, tmp_path / "exported", "torchscript")
    info = json.loads((tmp_path / "exported" / "preprocessing.json").read_text())
    assert info["captured_by"] == "torch.jit.script" and info["input_kind"] == "sequence"
    rows = frame.drop(columns="label").head(7)
    exported = torch.jit.load(str(path))
    with torch.no_grad():
        probabilities = exported(torch.tensor(rows.to_numpy(dtype=np.float32)[:, :, None])).numpy()
    assert np.allclose(probabilities, automl.load(artifact).predict_proba(rows), atol=1e-5)
