"""A model folder from someone else runs no code of theirs when it is loaded, predicted with,
exported or served: its preprocessing is not a pickle, and any type outside automl's allow-list
is refused."""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from artifact_helpers import build_artifact

from automl.cli import main
from automl.errors import AutoMLError
from automl.fitted_state import PREPROCESSING_FILE, dump_preprocessing, load_preprocessing
from automl.predictor import load


class WritesMarker:
    """A pickle payload that creates ``marker`` when unpickled: stands for any code at all."""

    def __init__(self, marker) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


class SetsMarkerWhenBuilt:
    """A class that creates a marker file when an object of it is rebuilt from saved state."""

    def __setstate__(self, state) -> None:
        open(state["marker"], "w").close()


def blobs() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    label = rng.integers(0, 3, 120)
    frame = pd.DataFrame({"x1": label * 2.0 + rng.normal(0, 0.4, 120), "x2": -label * 1.5 + rng.normal(0, 0.4, 120),
                          "colour": np.array(["red", "green", "blue"])[label]})
    frame["species"] = np.array(["ant", "bee", "cat"])[label]
    return frame


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    return build_artifact(blobs(), "species", tmp_path_factory.mktemp("trust") / "model")


def copy_of(artifact, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(artifact, copy)
    return copy


def add_to_manifest(folder, name: str) -> None:
    """Sign ``name`` into the folder's manifest, as a malicious author would."""
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["sha256"][name] = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))


def plant_pickle(folder, marker) -> None:
    (folder / "preprocessing.pkl").write_bytes(pickle.dumps(WritesMarker(marker)))
    add_to_manifest(folder, "preprocessing.pkl")


def serve_starts(folder) -> str:
    """The first line ``automl serve`` prints for ``folder`` (it is stopped right after)."""
    process = subprocess.Popen([sys.executable, "-m", "automl", "serve", str(folder), "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        return process.stdout.readline()
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_planted_pickle_runs_code_when_unpickled(tmp_path):
    # What the tests below rely on: unpickling this payload does create the marker.
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(WritesMarker(marker)))
    assert marker.exists()


def test_a_pickle_in_a_model_folder_is_never_run_by_load_predict_export_or_serve(artifact, tmp_path, capsys):
    folder, marker = copy_of(artifact, tmp_path), tmp_path / "ran"
    plant_pickle(folder, marker)
    rows = tmp_path / "rows.csv"
    blobs().drop(columns="species").head(5).to_csv(rows, index=False)

    assert list(load(folder).predict(pd.read_csv(rows))) == list(load(artifact).predict(pd.read_csv(rows)))
    assert main(["predict", str(folder), str(rows)]) == 0
    assert main(["export", str(folder), "--output", str(tmp_path / "export")]) == 0
    assert "serving" in serve_starts(folder)
    assert not marker.exists()


def test_a_model_folder_in_the_old_pickle_format_is_refused_without_unpickling(artifact, tmp_path, capsys):
    folder, marker = copy_of(artifact, tmp_path), tmp_path / "ran"
    (folder / PREPROCESSING_FILE).unlink()
    plant_pickle(folder, marker)
    with pytest.raises(AutoMLError, match=r"preprocessing.pkl, a pickle.*Fix: re-run the search"):
        load(folder)
    assert main(["predict", str(folder), str(tmp_path / "rows.csv")]) == 2
    assert "no longer loads" in capsys.readouterr().err
    assert not marker.exists()


def test_a_preprocessing_file_naming_a_type_outside_the_allow_list_is_refused_before_anything_is_built(artifact, tmp_path):
    import skops.io

    folder, marker = copy_of(artifact, tmp_path), tmp_path / "ran"
    planted = SetsMarkerWhenBuilt()
    planted.marker = str(marker)
    (folder / PREPROCESSING_FILE).write_bytes(skops.io.dumps({"features": planted, "target": None}))
    add_to_manifest(folder, PREPROCESSING_FILE)
    with pytest.raises(AutoMLError, match=r"names the type test_artifact_trust.SetsMarkerWhenBuilt, which automl does not load"):
        load(folder)
    assert not marker.exists()


def test_a_changed_preprocessing_file_is_refused(artifact, tmp_path):
    folder = copy_of(artifact, tmp_path)
    data = bytearray((folder / PREPROCESSING_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / PREPROCESSING_FILE).write_bytes(bytes(data))
    with pytest.raises(AutoMLError, match="does not match its checksum"):
        load(folder)
    add_to_manifest(folder, PREPROCESSING_FILE)  # signed again: now it is simply unreadable
    with pytest.raises(AutoMLError, match="is not a readable preprocessing file"):
        load(folder)


def test_every_kind_of_fitted_preprocessing_comes_back_from_the_safe_format(tmp_path):
    from sklearn.cluster import KMeans

    from automl.data.arrays import ArrayStandardizer
    from automl.data.preprocess import FeaturePreprocessor, TargetEncoder
    from automl.data.text import TextTokenizer
    from automl.data.unlabelled import NoTarget
    from automl.data.columns import ColumnSpace

    rng = np.random.default_rng(0)
    n = 60
    frame = pd.DataFrame({
        "number": rng.normal(size=n), "category": rng.choice(["x", "y", None], n), "flag": rng.choice(["yes", "no"], n),
        "when": pd.date_range("2020-01-01", periods=n, freq="D").astype(str), "code": [f"id{i % 30}" for i in range(n)],
        "words": [" ".join(rng.choice(["alpha", "beta", "gamma", "delta"], 5)) for _ in range(n)],
    })
    frame.loc[3, "number"] = np.nan
    images = rng.normal(size=(10, 3, 4, 4)).astype(np.float32)
    small = frame[["number", "category", "flag"]]
    state = {
        "features": FeaturePreprocessor(clip_quantile=0.01).fit(frame),
        "target": TargetEncoder("binary").fit(pd.Series(rng.choice([3, 7], n)), by_class=True),
        "regression_target": TargetEncoder("regression").fit(pd.Series(rng.normal(size=n)), by_class=False),
        "no_target": NoTarget(),
        "tokens": TextTokenizer("words").fit(frame["words"]),
        "images": ArrayStandardizer("image").fit(images),
        "kmeans": KMeans(3, n_init=2, random_state=0).fit(rng.normal(size=(30, 2))),
        "column_space": ColumnSpace.fit(small, FeaturePreprocessor().fit(small)),
        "member_features": [FeaturePreprocessor(scaler="robust").fit(frame), FeaturePreprocessor(scaler="minmax").fit(small)],
    }
    (tmp_path / PREPROCESSING_FILE).write_bytes(dump_preprocessing(state))
    loaded = load_preprocessing(tmp_path)

    np.testing.assert_array_equal(loaded["features"].transform(frame), state["features"].transform(frame))
    assert loaded["features"].decisions_ == state["features"].decisions_
    assert list(loaded["target"].decode(loaded["target"].encode([7, 3]))) == [7, 3]
    assert loaded["regression_target"].decode(np.zeros(1))[0] == pytest.approx(state["regression_target"].mean_)
    assert loaded["no_target"].output_size == 0
    np.testing.assert_array_equal(loaded["tokens"].transform(frame), state["tokens"].transform(frame))
    np.testing.assert_array_equal(loaded["images"].transform(images), state["images"].transform(images))
    probe = rng.normal(size=(20, 2))
    np.testing.assert_array_equal(loaded["kmeans"].predict(probe), state["kmeans"].predict(probe))
    encoded = state["column_space"].features.transform(small)
    pd.testing.assert_frame_equal(loaded["column_space"].decode(encoded), state["column_space"].decode(encoded))
    for saved, back in zip(state["member_features"], loaded["member_features"]):
        np.testing.assert_array_equal(back.transform(frame), saved.transform(frame))


def test_saving_a_type_outside_the_allow_list_fails_at_save_time_not_at_load_time():
    with pytest.raises(TypeError, match="SetsMarkerWhenBuilt"):
        dump_preprocessing({"features": SetsMarkerWhenBuilt()})
