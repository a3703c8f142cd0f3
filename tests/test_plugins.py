"""The plugin registry: discovery through entry points, attribution, and clear plugin errors."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

from automl import hookimpl
from automl.cli import main
from automl.components import ArchitectureSpec, LossSpec
from automl.errors import AutoMLError
from automl.registry import load_registry


def test_builtins_are_discovered_through_the_entry_point_group():
    registry = load_registry()
    for family, name in [("architectures", "mlp"), ("losses", "cross_entropy"), ("losses", "mse"),
                         ("optimizers", "adam"), ("optimizers", "sgd"), ("regularizers", "dropout"), ("regularizers", "l2")]:
        component = registry.get(family, name)
        assert component.package == "automl-torch"
    assert {p.name for p in registry.plugins} >= {"mlp", "losses", "optimizers", "regularizers"}


def test_registry_filters_components_by_task_and_input_kind():
    registry = load_registry()
    classification_losses = {c.name for c in registry.list("losses", task="multiclass", input_kind="tabular")}
    assert "cross_entropy" in classification_losses and "mse" not in classification_losses
    assert [c.name for c in registry.list("architectures", "ml*")] == ["mlp"]


class _Duplicate:
    @hookimpl
    def automl_architectures(self):
        return [ArchitectureSpec(name="mlp", build=lambda shape, out: None)]


def test_a_component_named_like_a_builtin_is_a_warning_and_keeps_its_qualified_name():
    from automl.registry import PluginClashWarning

    with pytest.warns(PluginClashWarning, match=r"architecture 'mlp' comes from 2 packages: automl-torch .* and dupe \(dupe:mlp\)"):
        registry = load_registry(extra_plugins=[("dupe", _Duplicate())])
    assert registry.get("architectures", "mlp").package == "automl-torch"
    assert registry.get("architectures", "dupe:mlp").plugin == "dupe"


class _Twice:
    @hookimpl
    def automl_architectures(self):
        return [ArchitectureSpec(name="twin", build=lambda shape, out: None)] * 2


def test_two_same_named_components_of_one_plugin_are_an_error_naming_it():
    with pytest.raises(AutoMLError, match=r"plugin 'twice'.*'twin' is already registered by plugin 'twice' of the same package"):
        load_registry(extra_plugins=[("twice", _Twice())])


class _BadSpace:
    @hookimpl
    def automl_losses(self):
        return [LossSpec(name="odd", build=lambda: None, space={"alpha": {"uniform": [1.0]}})]


def test_an_invalid_space_names_the_plugin_and_the_parameter():
    with pytest.raises(AutoMLError, match=r"plugin 'bad'.*loss 'odd' declares an invalid space.*alpha"):
        load_registry(extra_plugins=[("bad", _BadSpace())])


class _WrongRecord:
    @hookimpl
    def automl_optimizers(self):
        return [{"name": "adam2"}]


def test_a_malformed_component_names_the_expected_record_type():
    with pytest.raises(AutoMLError, match=r"plugin 'wrong'.*OptimizerSpec"):
        load_registry(extra_plugins=[("wrong", _WrongRecord())])


def test_a_plugin_that_fails_to_import_names_its_entry_point_and_can_be_disabled(tmp_path, monkeypatch):
    # A real installed distribution (a .dist-info on sys.path) whose entry point cannot import.
    dist = tmp_path / "broken_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[automl]\nbroken = broken_plugin_module_that_is_missing\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(AutoMLError) as raised:
        load_registry()
    message = str(raised.value)
    assert "plugin 'broken'" in message and "broken_plugin_module_that_is_missing" in message
    assert "broken-plugin" in message and "--disable-plugin broken" in message
    assert "mlp" in {c.name for c in load_registry(disabled=["broken"]).list("architectures")}


def test_cli_plugins_lists_every_component_with_plugin_and_package(capsys):
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    for name in ("mlp", "cross_entropy", "mse", "adam", "sgd", "dropout", "l2"):
        assert name in out
    assert "automl-torch 0.1.0" in out


def test_importing_automl_loads_no_torch_ray_or_plugin():
    code = "import sys, automl; print(any(m in sys.modules for m in ('torch', 'ray', 'automl_plugins')))"
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_plugins_space_shows_a_components_own_hyperparameters(capsys):
    assert main(["plugins", "mlp", "--space"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines()]
    assert out.startswith("architecture mlp: plugin mlp, package automl-torch")
    assert ["width", "one", "of", "64,", "128,", "256"] in rows and ["depth", "one", "of", "1,", "2,", "3"] in rows


def test_plugins_space_as_json_is_the_registered_space(capsys):
    assert main(["plugins", "adam", "--space", "--format", "json"]) == 0
    [record] = json.loads(capsys.readouterr().out)
    spec = load_registry().get("optimizers", "adam").spec
    assert (record["family"], record["name"], record["plugin"]) == ("optimizers", "adam", "optimizers")
    assert record["space"] == json.loads(json.dumps(dict(spec.space))) and "lr" in record["space"]


def test_plugins_space_of_an_unknown_component_is_one_line(capsys):
    assert main(["plugins", "perceiver", "--space"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no installed component is named 'perceiver'" in err[0]
