"""`automl serve` takes every input kind `automl predict` takes (images and sequences as nested
lists, text as strings), answers what the Python predictor answers, and refuses at start-up a
model that does not predict; `automl export` refuses, by input kind, what it cannot export."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from artifact_helpers import build_artifact
from serve_helpers import health, post, serving

from automl.cli import main
from automl.data.load import load_data
from automl.predictor import load


def assert_answer_matches_predictor(answer: dict, artifact, data) -> None:
    expected = load(artifact).predict_frame(data)
    target = [c for c in expected.columns if c.startswith("predicted_")][0]
    assert answer["predictions"] == [v.item() if hasattr(v, "item") else v for v in expected[target]]
    for i, probabilities in enumerate(answer["probabilities"]):
        for label, p in probabilities.items():
            assert p == pytest.approx(float(expected.loc[i, f"probability_{label}"]), abs=1e-6)


def digit_images(n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    frame = load_data("digits").frame.head(n)
    return frame.drop(columns="target").to_numpy(dtype=np.float32).reshape(len(frame), 1, 8, 8), frame["target"].to_numpy()


@pytest.fixture(scope="module")
def image_artifact(tmp_path_factory):
    """Digits as 1x8x8 arrays from an .npz."""
    path = tmp_path_factory.mktemp("image") / "digits.npz"
    X, y = digit_images(400)
    np.savez(path, X=X, y=y)
    return build_artifact(str(path), None, path.parent / "model")


@pytest.fixture(scope="module")
def pixel_table_artifact(tmp_path_factory):
    """The digits table read as 1x8x8 images (``--image-shape 1,8,8``)."""
    return build_artifact(load_data("digits").frame.head(400), "target", tmp_path_factory.mktemp("pixels") / "model",
                          image_shape=(1, 8, 8))


@pytest.fixture(scope="module")
def sequence_npz(tmp_path_factory):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 6, 2)).astype(np.float32)
    y = np.where(X[:, :, 0].mean(axis=1) > 0, "up", "down")
    path = tmp_path_factory.mktemp("sequence") / "seq.npz"
    np.savez(path, X=X, y=y)
    return path


@pytest.fixture(scope="module")
def sequence_artifact(sequence_npz):
    return build_artifact(str(sequence_npz), None, sequence_npz.parent / "model")


@pytest.fixture(scope="module")
def text_artifact(tmp_path_factory):
    rng = np.random.default_rng(0)
    good, bad = ["great", "lovely", "fine", "superb"], ["awful", "poor", "dull", "broken"]
    label = rng.integers(0, 2, 160)
    texts = [" ".join(rng.choice(good if y else bad, 4)) + " film" for y in label]
    frame = pd.DataFrame({"review": texts, "liked": np.array(["no", "yes"])[label]})
    gru = {"name": "gru", "hidden_size": 16, "layers": 1, "bidirectional": False, "pooling": "mean", "dropout": 0.0, "embedding_dim": 16}
    return build_artifact(frame, "liked", tmp_path_factory.mktemp("text") / "model", architecture=gru)


def test_an_image_model_takes_nested_lists_and_answers_like_the_predictor(image_artifact):
    rows = digit_images(6)[0].tolist()
    rows[0][0][0][0] = None  # a missing pixel is allowed
    with serving(image_artifact) as url:
        assert health(url)["input_shape"] == [1, 8, 8] and health(url)["input_kind"] == "image"
        status, answer = post(url, rows)
    assert status == 200
    assert_answer_matches_predictor(answer, image_artifact, np.array(rows, dtype=np.float32))


def test_an_image_model_of_pixel_columns_takes_rows_of_pixels_as_automl_predict_does(pixel_table_artifact):
    pixels = load_data("digits").frame.drop(columns="target").tail(5).reset_index(drop=True)
    with serving(pixel_table_artifact) as url:
        assert health(url)["input_kind"] == "image" and health(url)["features"] == list(pixels.columns)
        status, answer = post(url, json.loads(pixels.to_json(orient="records")))
    assert status == 200
    assert_answer_matches_predictor(answer, pixel_table_artifact, pixels)


def test_a_sequence_model_takes_nested_lists_and_answers_like_the_predictor(sequence_artifact, sequence_npz):
    series = np.load(sequence_npz)["X"][:5]
    with serving(sequence_artifact) as url:
        status, answer = post(url, series.tolist())
    assert status == 200
    assert_answer_matches_predictor(answer, sequence_artifact, series)


def test_a_text_model_takes_strings_and_answers_like_the_predictor(text_artifact):
    texts = ["great lovely film", "awful dull broken film", None, "superb"]
    with serving(text_artifact) as url:
        assert health(url)["text_column"] == "review"
        status, answer = post(url, texts)
    assert status == 200
    assert_answer_matches_predictor(answer, text_artifact, pd.DataFrame({"review": texts}))
    assert answer["predictions"][:2] == ["yes", "no"]


@pytest.mark.parametrize(("rows", "message"), [
    ([[[0.0] * 8] * 8], "row 0 has shape [8, 8], the model takes [1, 8, 8]"),
    ([[[[0.0] * 8] * 8], [[["x"] * 8] * 8]], "row 1 must be nested lists of numbers"),
    ([{"pixel": 1}], "row 0 must be nested lists of numbers"),
])
def test_an_image_request_of_the_wrong_shape_or_values_is_a_400_naming_the_row(image_artifact, rows, message):
    with serving(image_artifact) as url:
        status, answer = post(url, rows)
    assert status == 400 and message in answer["error"] and answer["field"].startswith("rows[")


def test_a_text_request_with_a_non_string_is_a_400_naming_the_row(text_artifact):
    with serving(text_artifact) as url:
        status, answer = post(url, ["fine film", {"review": "fine"}])
    assert (status, answer["field"]) == (400, "rows[1]") and "must be a string" in answer["error"]


def test_serve_refuses_a_generate_model_at_start_up_with_exit_2(tmp_path, capsys, monkeypatch):
    import automl.predictor
    from automl.tasks.generate import GeneratorPredictor

    generator = GeneratorPredictor(None, None, None, {"task": "generate", "target": None, "input_kind": "tabular"}, None)
    monkeypatch.setattr(automl.predictor, "load", lambda path, **options: generator)
    assert main(["serve", str(tmp_path), "--port", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "generate model" in err and "automl sample" in err


@pytest.mark.parametrize("fmt", ["torchscript", "torch-export"])
@pytest.mark.parametrize("artifact", ["image_artifact", "sequence_artifact"])
def test_an_exported_array_model_matches_the_predictor_on_raw_arrays(artifact, fmt, request, sequence_npz, tmp_path):
    artifact = request.getfixturevalue(artifact)
    assert main(["export", str(artifact), "--format", fmt, "-o", str(tmp_path / "export")]) == 0
    preprocessing = json.loads((tmp_path / "export" / "preprocessing.json").read_text())
    shape = tuple(preprocessing["input_shape"])
    arrays = digit_images(7)[0] if shape == (1, 8, 8) else np.load(sequence_npz)["X"][:7]
    arrays = arrays.copy()
    arrays[0, 0, 0] = np.nan  # missing: the training mean, as automl predict does
    if fmt == "torchscript":
        module = torch.jit.load(str(tmp_path / "export" / preprocessing["model_file"]))
    else:
        module = torch.export.load(str(tmp_path / "export" / preprocessing["model_file"])).module()
    with torch.no_grad():
        probabilities = module(torch.from_numpy(arrays)).numpy()
    np.testing.assert_allclose(probabilities, load(artifact).predict_proba(arrays), atol=1e-5)


def test_export_refuses_a_text_model_by_name_with_exit_2(text_artifact, tmp_path, capsys):
    assert main(["export", str(text_artifact), "-o", str(tmp_path / "export")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot export a model of text inputs" in err and "automl serve" in err
    assert not (tmp_path / "export").exists()


def test_an_image_model_of_pixel_columns_exports_as_a_table(pixel_table_artifact, tmp_path):
    from automl.export import encode_rows

    assert main(["export", str(pixel_table_artifact), "-o", str(tmp_path / "export")]) == 0
    preprocessing = json.loads((tmp_path / "export" / "preprocessing.json").read_text())
    pixels = load_data("digits").frame.drop(columns="target").tail(5).reset_index(drop=True)
    module = torch.jit.load(str(tmp_path / "export" / preprocessing["model_file"]))
    with torch.no_grad():
        probabilities = module(*encode_rows(pixels, preprocessing)).numpy()
    np.testing.assert_allclose(probabilities, load(pixel_table_artifact).predict_proba(pixels), atol=1e-5)
