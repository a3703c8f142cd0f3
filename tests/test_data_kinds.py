"""Every input format and kind: tables from CSV / Parquet / JSON Lines, arrays, images,
sequences and text, each prepared with the agreed shapes and applied unchanged at prediction."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from automl.config import DataConfig
from automl.data import prepare_data
from automl.data.load import load_data, load_prediction_input


def small_table(n: int = 90) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.integers(0, 5, n).astype(float), "c": np.tile(["u", "v", "w"], n // 3)})
    frame["y"] = np.where(frame["a"] > 0, "pos", "neg")
    return frame


@pytest.mark.parametrize("suffix, write", [
    (".csv", lambda f, p: f.to_csv(p, index=False)),
    (".tsv", lambda f, p: f.to_csv(p, index=False, sep="\t")),
    (".parquet", lambda f, p: f.to_parquet(p)),
    (".jsonl", lambda f, p: f.to_json(p, orient="records", lines=True)),
])
def test_table_files_load_to_the_same_prepared_data(tmp_path, suffix, write):
    frame = small_table()
    path = tmp_path / f"data{suffix}"
    write(frame, path)
    from_file = prepare_data(str(path), DataConfig(target="y"))
    from_frame = prepare_data(frame, DataConfig(target="y"))
    assert np.allclose(from_file.X_train, from_frame.X_train) and np.array_equal(from_file.y_test, from_frame.y_test)


def test_numpy_pair_and_2d_npz_are_tabular(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(90, 4)), np.tile([0, 1, 2], 30)
    prepared = prepare_data((X, y), DataConfig())
    assert prepared.input_kind == "tabular" and prepared.input_shape == (4,) and prepared.task == "multiclass"
    np.savez(tmp_path / "d.npz", X=X, y=y)
    assert np.allclose(prepare_data(str(tmp_path / "d.npz"), DataConfig()).X_train, prepared.X_train)


def test_3d_npz_is_a_sequence_standardized_per_feature_on_train(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(5.0, 3.0, size=(120, 10, 2)).astype(np.float32)
    X[:, :, 1] *= 100
    y = (X[:, :, 0].mean(axis=1) > 5).astype(int)
    np.savez(tmp_path / "seq.npz", X=X, y=y)
    prepared = prepare_data(str(tmp_path / "seq.npz"), DataConfig())
    assert prepared.input_kind == "sequence" and prepared.input_shape == (10, 2)
    assert prepared.X_train.shape[1:] == (10, 2) and prepared.X_train.dtype == np.float32
    assert np.allclose(prepared.X_train.mean(axis=(0, 1)), 0, atol=1e-4)
    assert np.allclose(prepared.X_train.std(axis=(0, 1)), 1, atol=1e-3)


def test_wide_table_is_a_t_by_1_sequence_with_input_kind_sequence():
    rng = np.random.default_rng(0)
    series = rng.normal(size=(90, 12)).cumsum(axis=1)
    frame = pd.DataFrame(series, columns=[f"t{i}" for i in range(12)])
    frame["trend"] = np.where(series[:, -1] > series[:, 0], "up", "down")
    prepared = prepare_data(frame, DataConfig(target="trend", input_kind="sequence"))
    assert prepared.input_kind == "sequence" and prepared.input_shape == (12, 1)
    rows = frame.drop(columns="trend").head(4)
    assert prepared.features.transform(rows).shape == (4, 12, 1)


def _png_folder(tmp_path, colour=False, size=(6, 5)):
    from PIL import Image

    rng = np.random.default_rng(0)
    for label, level in (("dark", 40), ("light", 200)):
        (tmp_path / "imgs" / label).mkdir(parents=True, exist_ok=True)
        for i in range(8):
            pixels = np.clip(rng.normal(level, 10, (size[1], size[0], 3) if colour else (size[1], size[0])), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / "imgs" / label / f"{i}.{'jpg' if colour and i % 2 else 'png'}")
    return tmp_path / "imgs"


@pytest.mark.parametrize("colour, channels", [(False, 1), (True, 3)])
def test_image_folder_gives_n_c_h_w_float32_and_class_labels(tmp_path, colour, channels):
    folder = _png_folder(tmp_path, colour)
    prepared = prepare_data(str(folder), DataConfig())
    assert prepared.input_kind == "image" and prepared.input_shape == (channels, 5, 6)
    assert prepared.X_train.shape[1:] == (channels, 5, 6) and prepared.X_train.dtype == np.float32
    assert list(prepared.target_encoder.classes_) == ["dark", "light"] and prepared.task == "binary"
    assert prepared.report["images"]["images"] == 16


def test_image_preprocessing_is_saved_and_applied_unchanged_to_new_images(tmp_path):
    folder = _png_folder(tmp_path)
    prepared = prepare_data(str(folder), DataConfig())
    restored = pickle.loads(pickle.dumps(prepared.features))
    new_images = load_prediction_input(str(folder / "dark"))
    assert new_images.shape == (8, 1, 5, 6)
    out = restored.transform(new_images)
    assert np.allclose(out, (new_images - restored.mean_.reshape(1, -1, 1, 1)) / restored.std_.reshape(1, -1, 1, 1))


def test_text_column_becomes_padded_token_ids_with_a_train_only_vocabulary():
    words = ["good great fine nice", "bad awful poor sad"]
    n = 60
    frame = pd.DataFrame({"review": [f"{words[i % 2]} item {i}" for i in range(n)], "y": ["pos", "neg"] * (n // 2)})
    prepared = prepare_data(frame, DataConfig(target="y"))
    assert prepared.input_kind == "text" and prepared.X_train.dtype == np.int64
    assert prepared.X_train.shape[1:] == prepared.input_shape and prepared.vocab_size == prepared.features.vocab_size
    assert prepared.X_train.max() < prepared.vocab_size
    vocabulary = prepared.features.vocabulary_
    # Each row carries a unique item number: only the training rows' numbers are in the vocabulary.
    assert sum(word.isdigit() for word in vocabulary) == prepared.report["split_rows"]["train"]
    encoded = prepared.features.transform(pd.DataFrame({"review": ["good zebra"]}))
    assert encoded[0, 0] == vocabulary["good"] and encoded[0, 1] == 1 and encoded[0, 2] == 0


def test_loaders_report_what_kind_of_data_they_read(tmp_path):
    np.savez(tmp_path / "seq.npz", X=np.zeros((4, 3, 2)), y=np.arange(4))
    assert load_data(str(tmp_path / "seq.npz")).array_kind == "sequence"
    assert load_data(small_table()).is_table


def _refit_artifact(prepared, tmp_path):
    """Train a tiny MLP on a prepared dataset through the real refit path and save its artifact."""
    from automl.engine.trial_records import TrialRecord
    from automl.registry import load_registry
    from automl.refit import refit_and_test
    from automl.training.records import Components

    registry = load_registry()
    config = {
        "seed": 0, "epochs": 3, "batch_size": 8,
        "architecture": {"name": "mlp", "depth": 1, "width": 16, "activation": "relu", "normalization": "none"},
        "loss": {"name": "cross_entropy", "label_smoothing": 0.0},
        "optimizer": {"name": "adam", "lr": 0.01},
        "regularizers": {},
    }
    specs = {family: {config[key]["name"]: registry.get(family, config[key]["name"]).spec}
             for family, key in (("architectures", "architecture"), ("losses", "loss"), ("optimizers", "optimizer"))}
    record = TrialRecord("t0", config, {"best_epoch": 3}, "completed")
    return refit_and_test(record, prepared, Components({**specs, "regularizers": {}}), tmp_path / "model").artifact_dir


def test_saved_image_model_predicts_a_new_folder_of_images_with_its_fitted_preprocessing(tmp_path, capsys):
    from automl.cli import main

    folder = _png_folder(tmp_path)
    artifact = _refit_artifact(prepare_data(str(folder), DataConfig()), tmp_path)
    assert main(["predict", str(artifact), str(folder / "light")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("predicted_label") and len(lines) == 9
    assert sum(line.startswith("light,") for line in lines[1:]) >= 7


def test_saved_sequence_model_predicts_from_an_npz(tmp_path):
    from automl.predictor import load

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 6, 2)).astype(np.float32)
    y = np.where(X[:, :, 0].mean(axis=1) > 0, "up", "down")
    np.savez(tmp_path / "seq.npz", X=X, y=y)
    artifact = _refit_artifact(prepare_data(str(tmp_path / "seq.npz"), DataConfig()), tmp_path)
    predictions = load(artifact).predict(load_prediction_input(str(tmp_path / "seq.npz")))
    assert predictions.shape == (120,) and (predictions == y).mean() > 0.7


def test_predict_cli_names_a_missing_column_and_exits_2(tmp_path, capsys):
    from automl.cli import main

    frame = small_table()
    artifact = _refit_artifact(prepare_data(frame, DataConfig(target="y")), tmp_path)
    reordered = tmp_path / "new.csv"
    frame.drop(columns="y")[["c", "b", "a"]].assign(extra="x").to_csv(reordered, index=False)
    assert main(["predict", str(artifact), str(reordered)]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == len(frame) + 1
    incomplete = tmp_path / "incomplete.csv"
    frame.drop(columns=["y", "b"]).to_csv(incomplete, index=False)
    assert main(["predict", str(artifact), str(incomplete)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "required column 'b' is missing" in err


def test_dataframe_with_integer_column_names_is_prepared_by_name_as_text():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(60, 3)))
    frame["y"] = np.tile(["a", "b"], 30)
    prepared = prepare_data(frame, DataConfig(target="y"))
    assert prepared.features.columns_ == ["0", "1", "2"] and prepared.X_train.shape[1] == 3
    assert prepared.features.transform(frame.drop(columns="y")).shape == (60, 3)
