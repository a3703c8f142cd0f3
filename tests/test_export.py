"""`automl export` writes a model that runs with torch alone and predicts what `automl predict` does."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from artifact_helpers import build_artifact

from automl import hookimpl
from automl.cli import main
from automl.components import ArchitectureSpec
from automl.export import encode_rows


@pytest.fixture(scope="module")
def rows_with_gaps():
    """Feature rows for prediction, with a missing number, a missing and an unseen category."""
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"x1": rng.normal(0, 2, 12), "x2": rng.normal(0, 2, 12),
                          "colour": rng.choice(["red", "green", "blue"], 12), "noise": rng.normal(0, 1, 12)})
    frame.loc[1, "x1"] = np.nan
    frame.loc[2, "colour"] = None
    frame.loc[3, "colour"] = "purple"
    return frame


def cli_predictions(artifact, frame, tmp_path) -> pd.DataFrame:
    frame.to_csv(tmp_path / "rows.csv", index=False)
    assert main(["predict", str(artifact), str(tmp_path / "rows.csv"), "-o", str(tmp_path / "pred.csv")]) == 0
    return pd.read_csv(tmp_path / "pred.csv")


@pytest.mark.parametrize("fmt", ["torchscript", "torch-export"])
def test_exported_classifier_matches_automl_predict(fmt, blobs_frame, rows_with_gaps, tmp_path):
    artifact = build_artifact(blobs_frame, "species", tmp_path / "model")
    assert main(["export", str(artifact), "--format", fmt, "-o", str(tmp_path / "export")]) == 0
    preprocessing = json.loads((tmp_path / "export" / "preprocessing.json").read_text())
    numeric, categorical = encode_rows(rows_with_gaps, preprocessing)
    assert preprocessing["captured_by"] == ("torch.jit.script" if fmt == "torchscript" else "torch.export")
    if fmt == "torchscript":
        module = torch.jit.load(str(tmp_path / "export" / "model.torchscript.pt"))
    else:
        module = torch.export.load(str(tmp_path / "export" / "model.pt2")).module()
    with torch.no_grad():
        probabilities = module(numeric, categorical).numpy()

    expected = cli_predictions(artifact, rows_with_gaps, tmp_path)
    classes = preprocessing["classes"]
    assert [str(c) for c in np.array(classes)[probabilities.argmax(axis=1)]] == list(expected["predicted_species"])
    expected_probabilities = expected[[f"probability_{c}" for c in classes]].to_numpy()
    np.testing.assert_allclose(probabilities, expected_probabilities, atol=1e-5)


def test_exported_regressor_returns_values_in_target_units(regression_frame, tmp_path):
    artifact = build_artifact(regression_frame, "y", tmp_path / "model")
    assert main(["export", str(artifact), "-o", str(tmp_path / "export")]) == 0
    preprocessing = json.loads((tmp_path / "export" / "preprocessing.json").read_text())
    rows = regression_frame.drop(columns=["y"]).head(20)
    module = torch.jit.load(str(tmp_path / "export" / "model.torchscript.pt"))
    with torch.no_grad():
        values = module(*encode_rows(rows, preprocessing)).numpy().reshape(-1)
    expected = cli_predictions(artifact, rows, tmp_path)["predicted_y"].to_numpy()
    np.testing.assert_allclose(values, expected, rtol=1e-5, atol=1e-4)
    assert abs(values.mean() - 50) < 10  # target units (mean 50), not standardized


def test_export_of_a_missing_artifact_is_a_one_line_error(tmp_path, capsys):
    assert main(["export", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.fixture(scope="module")
def gappy_frame() -> pd.DataFrame:
    """Training rows with missing numbers and categories, a yes/no column and outliers."""
    rng = np.random.default_rng(7)
    n = 240
    label = rng.integers(0, 2, n)
    frame = pd.DataFrame({
        "x1": label * 2.0 + rng.normal(0, 0.5, n),
        "x2": rng.normal(0, 1, n),
        "member": np.where(rng.random(n) < 0.5 + 0.3 * (label * 2 - 1), "yes", "no").astype(object),
        "colour": rng.choice(["red", "green", "blue"], n).astype(object),
        "label": np.array(["a", "b"])[label],
    })
    frame.loc[::9, "x1"] = np.nan
    frame.loc[::7, "member"] = None
    frame.loc[::11, "colour"] = None
    frame.loc[5, "x2"] = 40.0
    return frame


@pytest.mark.parametrize("scaler", ["robust", "minmax"])
def test_export_reproduces_missing_indicators_booleans_clipping_and_the_fitted_scaler(scaler, gappy_frame, tmp_path):
    artifact = build_artifact(gappy_frame, "label", tmp_path / "model", scaler=scaler, clip_quantile=0.05)
    assert main(["export", str(artifact), "-o", str(tmp_path / "export")]) == 0
    preprocessing = json.loads((tmp_path / "export" / "preprocessing.json").read_text())
    assert preprocessing["captured_by"] == "torch.jit.script"
    assert preprocessing["boolean_columns"] == ["member"]
    rows = gappy_frame.drop(columns=["label"]).head(12).copy()
    rows.loc[0, "x1"] = np.nan
    rows.loc[1, "member"] = None
    rows.loc[2, "colour"] = None
    rows.loc[3, "colour"] = "purple"
    rows.loc[4, "x2"] = -100.0  # beyond the training range: clipped
    module = torch.jit.load(str(tmp_path / "export" / "model.torchscript.pt"))
    with torch.no_grad():
        probabilities = module(*encode_rows(rows, preprocessing)).numpy()
    expected = cli_predictions(artifact, rows, tmp_path)
    np.testing.assert_allclose(probabilities, expected[[f"probability_{c}" for c in preprocessing["classes"]]].to_numpy(), atol=1e-5)


def test_export_names_a_date_column_it_cannot_reproduce_and_points_to_predict():
    from automl.data.preprocess import FeaturePreprocessor
    from automl.errors import AutoMLError
    from automl.export.fitted_steps import preprocessing_steps

    frame = pd.DataFrame({"x": np.arange(30.0), "joined": pd.date_range("2024-01-01", periods=30, freq="D").astype(str)})
    features = FeaturePreprocessor().fit(frame)
    assert features.datetime_columns_ == ["joined"]
    with pytest.raises(AutoMLError) as error:
        preprocessing_steps(features)
    assert "'joined'" in str(error.value) and "automl predict" in str(error.value)


# -- a module TorchScript can only trace ------------------------------------------------------------


class _ScaledByTheBatch(torch.nn.Module):
    """Divides its inputs by a Python number computed from the batch: a trace freezes the number
    its example gave. Its forward takes ``*unused``, which TorchScript cannot script."""

    def __init__(self, width: int, outputs: int) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(width, outputs)

    def forward(self, x, *unused):
        return self.linear(x / (1.0 + float(x.abs().max())))


class _TraceableLinear(_ScaledByTheBatch):
    """Straight-line code that TorchScript cannot script (``*unused``) but a trace captures whole."""

    def forward(self, x, *unused):
        return self.linear(x)


class _TracedArchitectures:
    @hookimpl
    def automl_architectures(self):
        build = lambda cls: lambda input_shape, output_size: cls(input_shape[0], output_size)  # noqa: E731
        return [ArchitectureSpec(name="scaled_by_the_batch", build=build(_ScaledByTheBatch)),
                ArchitectureSpec(name="traceable_linear", build=build(_TraceableLinear))]


@pytest.fixture(scope="module")
def traced_registry():
    from automl.registry import load_registry

    return load_registry(extra_plugins=[("traced_architectures", _TracedArchitectures())])


def test_a_trace_that_predicts_otherwise_than_the_model_is_refused_with_both_reasons(traced_registry, blobs_frame, tmp_path):
    from automl.errors import AutoMLError
    from automl.export import export_artifact

    artifact = build_artifact(blobs_frame, "species", tmp_path / "model", architecture={"name": "scaled_by_the_batch"},
                              registry=traced_registry)
    with pytest.raises(AutoMLError) as refused:
        export_artifact(artifact, tmp_path / "export", registry=traced_registry)
    message = str(refused.value)
    assert "scripting fails (" in message and "variable number of arguments" in message
    assert "the traced module gives other outputs than `automl predict` on" in message and "sample rows" in message
    assert "--format torch-export" in message
    assert not (tmp_path / "export").exists()  # nothing written


def test_a_trace_that_predicts_as_the_model_is_exported_and_says_it_was_traced(traced_registry, blobs_frame, rows_with_gaps,
                                                                              tmp_path):
    from automl.export import export_artifact
    from automl.predictor import load

    artifact = build_artifact(blobs_frame, "species", tmp_path / "model", architecture={"name": "traceable_linear"},
                              registry=traced_registry)
    path = export_artifact(artifact, tmp_path / "export", registry=traced_registry)
    preprocessing = json.loads((tmp_path / "export" / "preprocessing.json").read_text())
    assert preprocessing["captured_by"] == "torch.jit.trace"
    with torch.no_grad():
        probabilities = torch.jit.load(str(path))(*encode_rows(rows_with_gaps, preprocessing)).numpy()
    expected = load(artifact, registry=traced_registry).predict_proba(rows_with_gaps)
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)


@pytest.mark.parametrize("kind", ["classifier", "regressor", "images"])
def test_a_faithful_trace_passes_the_check_for_tables_values_and_arrays(kind, blobs_frame, regression_frame, monkeypatch, tmp_path):
    # The check compares like with like (probabilities, values in the target's units, raw
    # arrays): a model scripting would have captured, traced instead, is not refused.
    from automl.data.load import load_data

    if kind == "images":
        digits = load_data("digits").frame.head(300)
        data = str(tmp_path / "digits.npz")
        np.savez(data, X=digits.drop(columns="target").to_numpy(np.float32).reshape(-1, 1, 8, 8), y=digits["target"].to_numpy())
        artifact = build_artifact(data, None, tmp_path / "model")
    else:
        frame, target = (blobs_frame, "species") if kind == "classifier" else (regression_frame, "y")
        artifact = build_artifact(frame, target, tmp_path / "model")

    def unscriptable(module):
        raise RuntimeError("no scripting in this test")

    monkeypatch.setattr(torch.jit, "script", unscriptable)
    assert main(["export", str(artifact), "-o", str(tmp_path / "export")]) == 0
    assert json.loads((tmp_path / "export" / "preprocessing.json").read_text())["captured_by"] == "torch.jit.trace"
