"""Plugins from many authors: qualified names and clashes that only warn (issue 20, point 1),
saved models that need only their own plugins (point 2), with a second package installed."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import warnings

import pandas as pd
import pytest
from plugin_packages import ACTIVE_ENV, NAME, VERSION

from automl import AutoML
from automl.cli import main
from automl.errors import AutoMLError
from automl.registry import PluginClashWarning, load_registry
from automl.predictor import load
from automl.space import build_search_space
from presets import HOLDOUT_NO_ENSEMBLE


def test_a_clash_of_bare_names_warns_naming_both_packages_and_how_to_pick(rival_plugin):
    with pytest.warns(PluginClashWarning) as caught:
        registry = load_registry()
    [message] = [str(w.message) for w in caught if "'mlp'" in str(w.message)]
    assert "automl-torch (automl-torch:mlp)" in message and f"{NAME} ({NAME}:mlp)" in message
    assert f"include: [{NAME}:mlp]" in message and f"--disable-plugin {NAME}" in message
    assert registry.get("architectures", "mlp").package == "automl-torch"
    rival = registry.get("architectures", f"{NAME}:mlp")
    assert (rival.package, rival.version, rival.key) == (NAME, VERSION, f"{NAME}:mlp")


def test_a_bare_name_resolves_when_one_package_provides_it(rival_plugin):
    with pytest.warns(PluginClashWarning):
        registry = load_registry()
    assert registry.get("regularizers", "feature_noise").qualified_name == f"{NAME}:feature_noise"
    assert registry.get("architectures", "automl-torch:mlp") is registry.get("architectures", "mlp")


def test_a_command_goes_on_after_a_clash_with_one_warning_line(rival_plugin, capsys):
    assert main(["plugins", "mlp"]) == 0
    captured = capsys.readouterr()
    warning_lines = [line for line in captured.err.splitlines() if line.startswith("automl: warning:")]
    assert len(warning_lines) == 1 and "architecture 'mlp' comes from 2 packages" in warning_lines[0]
    assert f"{NAME}:mlp" in captured.out and "automl-torch:mlp" in captured.out


def test_disabling_a_package_by_its_name_removes_the_clash(rival_plugin):
    with warnings.catch_warnings():
        warnings.simplefilter("error", PluginClashWarning)
        registry = load_registry(disabled=[NAME])
    assert registry.find("architectures", f"{NAME}:mlp") is None


def test_a_space_picks_either_same_named_architecture(rival_plugin, tiny_space):
    from automl.space import load_space_file

    picked = tiny_space(f"architectures:\n  include: [{NAME}:mlp]\n  {NAME}:mlp: {{width: 8}}\n")
    with pytest.warns(PluginClashWarning):
        registry = load_registry()
    spec, source = load_space_file(picked)
    space = build_search_space(registry, spec, "multiclass", "tabular", source)
    assert space.components["architectures"] == {f"{NAME}:mlp": {"width": 8}}
    space = build_search_space(registry, {"architectures": {"include": ["mlp"]}}, "multiclass", "tabular")
    assert list(space.components["architectures"]) == ["mlp"]
    assert "depth" in space.components["architectures"]["mlp"]  # the built-in's own space


def test_a_regularizer_included_where_it_does_not_fit_is_an_error_naming_it():
    registry = load_registry()
    spec = {"regularizers": {"include": ["image_augment"], "image_augment": {"enabled": True}}}
    with pytest.raises(AutoMLError, match=r"regularizer 'image_augment' does not fit task 'multiclass' with tabular input"):
        build_search_space(registry, spec, "multiclass", "tabular")


# --------------------------------------------------------------------------------------------
# A saved model needs only what it names
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rival_artifact(rival_plugin_installed, ray_session, tmp_path_factory):
    """A real search whose model uses the rival's ``mlp``, its training-only ``feature_noise``
    and the built-in ``dropout`` (which shapes the network)."""
    frame = blobs()
    folder = tmp_path_factory.mktemp("rival-run")
    space = folder / "space.yaml"
    space.write_text(
        f"epochs: 2\nbatch_size: 32\narchitectures:\n  include: [{NAME}:mlp]\n"
        "losses:\n  include: [cross_entropy]\noptimizers:\n  include: [adam]\n  adam: {lr: 0.01}\n"
        "regularizers:\n  include: [feature_noise, dropout]\n  feature_noise: {enabled: true}\n  dropout: {enabled: true}\n"
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ACTIVE_ENV, "1")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PluginClashWarning)
            result = AutoML(target="species", space=space, num_trials=1, scheduler="fifo", output=folder / "run",
                            report=False, wandb=False, **HOLDOUT_NO_ENSEMBLE).fit(frame)
    rows = folder / "rows.csv"
    frame.drop(columns="species").head(12).to_csv(rows, index=False)
    return result, rows


def blobs() -> pd.DataFrame:
    import numpy as np

    rng = np.random.default_rng(0)
    label = rng.integers(0, 3, 150)
    frame = pd.DataFrame({"x1": label * 2.0 + rng.normal(0, 0.4, 150), "x2": -label * 1.5 + rng.normal(0, 0.4, 150)})
    frame["species"] = np.array(["ant", "bee", "cat"])[label]
    return frame


def test_the_search_trained_the_component_its_space_named_in_full(rival_artifact):
    result, _ = rival_artifact
    assert list(result.leaderboard["architecture"]) == [f"{NAME}:mlp"]


def test_the_artifact_records_package_and_version_of_each_plugin(rival_artifact):
    result, _ = rival_artifact
    record = {entry["name"]: entry for entry in json.loads((result.artifact_dir / "model.json").read_text())["plugins"]}
    architecture = record[f"{NAME}:mlp"]
    assert (architecture["component"], architecture["package"], architecture["version"]) == (f"{NAME}:mlp", NAME, VERSION)
    assert architecture["plugin"] == "rival_mlp" and architecture["needed_to_predict"]
    assert record["dropout"]["package"] == "automl-torch" and record["dropout"]["needed_to_predict"]
    assert record["feature_noise"]["package"] == NAME and not record["feature_noise"]["needed_to_predict"]
    assert not record["cross_entropy"]["needed_to_predict"] and not record["adam"]["needed_to_predict"]


def test_predict_needs_no_training_only_plugin(rival_artifact, rival_plugin, tmp_path, capsys):
    result, rows = rival_artifact
    expected = load(result.artifact_dir).predict(pd.read_csv(rows))
    out = tmp_path / "predictions.csv"
    assert main(["predict", str(result.artifact_dir), str(rows), "-o", str(out), "--disable-plugin", "rival_noise"]) == 0
    assert list(pd.read_csv(out)["predicted_species"]) == list(expected)


def test_loading_a_model_imports_only_the_plugins_it_needs(rival_artifact, rival_plugin):
    result, rows = rival_artifact
    code = (
        "import sys, automl, pandas; automl.load(sys.argv[1]).predict(pandas.read_csv(sys.argv[2])); "
        "print(sorted(m for m in sys.modules if m.startswith(('automl_rival_plugin.', 'automl_plugins.'))))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(result.artifact_dir), str(rows)],
                         capture_output=True, text=True, check=True).stdout
    # The architecture's plugin, the one regularizer prediction needs, and the task's plugin.
    assert eval(out) == ["automl_plugins.regularizers", "automl_plugins.tasks", "automl_rival_plugin.architectures"]


def test_a_broken_plugin_does_not_block_a_model_that_does_not_use_it(rival_artifact, rival_plugin, tmp_path, monkeypatch):
    result, rows = rival_artifact
    dist = tmp_path / "broken_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[automl]\nbroken = broken_plugin_module_that_is_missing\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(AutoMLError, match="plugin 'broken'"):
        load_registry()
    assert len(load(result.artifact_dir).predict(pd.read_csv(rows))) == 12


def test_a_disabled_needed_plugin_is_one_line_naming_its_package(rival_artifact, rival_plugin, capsys):
    result, rows = rival_artifact
    for command in (["predict", str(result.artifact_dir), str(rows)], ["export", str(result.artifact_dir)],
                    ["serve", str(result.artifact_dir), "--port", "0"]):
        assert main([*command, "--disable-plugin", NAME]) == 2
        [line] = capsys.readouterr().err.strip().splitlines()
        assert f"architecture '{NAME}:mlp' (plugin 'rival_mlp') from {NAME}, which --disable-plugin skips" in line


def test_a_missing_package_says_which_one_to_install(rival_artifact, rival_plugin, tmp_path, capsys):
    result, rows = rival_artifact
    moved = tmp_path / "model"
    shutil.copytree(result.artifact_dir, moved)
    info = json.loads((moved / "model.json").read_text())
    for entry in info["plugins"]:
        if entry["package"] == NAME:
            entry["package"] = "automl-gone-plugin"
    rewrite(moved, "model.json", json.dumps(info).encode())
    assert main(["predict", str(moved), str(rows)]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "automl-gone-plugin is not installed" in line and f"pip install 'automl-gone-plugin=={VERSION}'" in line


def rewrite(folder, name: str, data: bytes) -> None:
    """Replace one artifact file and its checksum, as a model saved elsewhere would arrive."""
    (folder / name).write_bytes(data)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["sha256"][name] = hashlib.sha256(data).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_export_runs_without_the_training_only_plugin(rival_artifact, rival_plugin, tmp_path):
    result, _ = rival_artifact
    assert main(["export", str(result.artifact_dir), "-o", str(tmp_path / "export"), "--disable-plugin", "rival_noise"]) == 0
    assert (tmp_path / "export" / "model.torchscript.pt").is_file()


def test_initialization_is_on_by_default_and_off_where_include_leaves_it_out():
    registry = load_registry()
    default = build_search_space(registry, {}, "multiclass", "tabular")
    assert default.components["regularizers"]["initialization"]["enabled"] is True
    narrowed = build_search_space(registry, {"regularizers": {"include": ["dropout"]}}, "multiclass", "tabular")
    assert "initialization" not in narrowed.components["regularizers"]
