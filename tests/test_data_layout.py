"""The wide time-series layout (one row per series, ordered numeric time-step columns, a label)
is read as sequences, said so with its reason, forced either way by --input-kind, and ordinary
tables stay tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automl.cli import main
from automl.config import DataConfig
from automl.data import prepare_data
from automl.data.load import load_data
from automl.data.summary import short_summary
from automl.space import space_for_input_kind
from series_helpers import wide_series
from presets import HOLDOUT_NO_ENSEMBLE_FLAGS, UNTRACKED_FLAGS


@pytest.mark.parametrize("columns", [[f"t{i}" for i in range(40)], [str(i) for i in range(1, 41)],
                                     [f"att{i}" for i in range(1, 41)]], ids=["t0..t39", "1..40", "att1..att40"])
def test_wide_series_table_is_read_as_sequences_with_the_reason(columns):
    prepared = prepare_data(wide_series(columns), DataConfig(target="label"))
    assert prepared.input_kind == "sequence" and prepared.input_shape == (40, 1)
    assert prepared.X_train.shape[1:] == (40, 1)
    view = prepared.report["input_view"]
    assert view.startswith("sequence view:") and f"{columns[0]} … {columns[-1]}" in view and "--input-kind tabular" in view
    assert any(line.strip() == view for line in short_summary(prepared.report))


def test_a_series_csv_file_is_read_as_sequences(tmp_path):
    path = tmp_path / "series.csv"
    wide_series([str(i) for i in range(1, 31)]).to_csv(path, index=False)
    assert prepare_data(str(path), DataConfig(target="label")).input_kind == "sequence"


def test_input_kind_tabular_keeps_a_series_table_a_table():
    prepared = prepare_data(wide_series([f"t{i}" for i in range(40)]), DataConfig(target="label", input_kind="tabular"))
    assert prepared.input_kind == "tabular" and prepared.input_shape == (40,)
    assert prepared.report["input_view"] == "tabular view: forced by --input-kind tabular"


def test_numbered_but_independent_features_stay_a_table_and_say_why():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(120, 20)), columns=[f"x{i}" for i in range(20)])
    frame["y"] = (frame["x0"] > 0).astype(int)
    prepared = prepare_data(frame, DataConfig(target="y"))
    assert prepared.input_kind == "tabular"
    assert prepared.report["input_view"].startswith("tabular view: columns x0 … x19 are numbered, but")


@pytest.mark.parametrize("name", ["breast_cancer", "wine", "diabetes", "iris", "digits"])
def test_the_bundled_tables_stay_tables(name):
    prepared = prepare_data(name, DataConfig())
    assert prepared.input_kind == "tabular"


def test_numbered_pixel_columns_are_not_series():
    """digits' columns pixel_0 … pixel_63 are numbered, but they are an image's pixels."""
    prepared = prepare_data("digits", DataConfig())
    assert prepared.input_kind == "tabular" and "numbered pixels" in prepared.report["input_view"]


@pytest.mark.parametrize("change", ["shuffled", "gap", "extra_column", "short", "text_step"])
def test_a_table_that_is_not_exactly_the_layout_stays_a_table(change):
    frame = wide_series([f"t{i}" for i in range(40)])
    if change == "shuffled":
        frame = frame[[*np.random.default_rng(0).permutation(frame.columns[:-1]), "label"]]
    elif change == "gap":
        frame = frame.drop(columns="t7")
    elif change == "extra_column":
        frame.insert(0, "age", np.arange(len(frame)) % 7)
    elif change == "short":
        frame = frame[[f"t{i}" for i in range(6)] + ["label"]]
    elif change == "text_step":
        frame["t39"] = np.where(frame["label"] == "a", "low", "high")
    assert prepare_data(frame, DataConfig(target="label")).input_kind == "tabular"


def test_two_dimensional_arrays_stay_tables(tmp_path):
    values = wide_series([f"t{i}" for i in range(40)])
    path = tmp_path / "x.npz"
    np.savez(path, X=values.drop(columns="label").to_numpy(), y=values["label"].to_numpy().astype(str))
    assert load_data(str(path)).array_kind == "tabular"
    assert prepare_data(str(path), DataConfig()).input_kind == "tabular"


@pytest.mark.parametrize("kind,space", [("sequence", "sequence"), ("image", "image"), ("text", "text"), ("tabular", "default")])
def test_the_default_space_follows_the_input_kind(kind, space):
    assert space_for_input_kind("default", kind) == space
    assert space_for_input_kind("quick", kind) == "quick"  # a space the user names is used as given


def test_space_show_for_sequences_offers_the_time_series_classifiers(capsys):
    import json

    assert main(["space", "show", "--task", "multiclass", "--input-kind", "sequence", "--format", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["source"].endswith("sequence.yaml")
    assert {"fcn", "resnet1d", "inception_time", "cnn1d", "lstm"} <= set(shown["components"]["architectures"])


def test_input_kind_tabular_takes_the_options_only_tables_use():
    from automl.api import AutoML
    from automl.errors import AutoMLError

    AutoML(input_kind="tabular", clip_quantile=0.01, image_shape=(1, 4, 10))  # a table: clipping and pixels work
    with pytest.raises(AutoMLError, match="--clip-outliers"):
        AutoML(input_kind="sequence", clip_quantile=0.01)


@pytest.mark.slow
def test_cli_search_of_a_series_csv_says_the_view_and_searches_the_sequence_space(ray_session, tmp_path, capsys):
    """No --input-kind, no --space: the wide CSV is read as series and sequence.yaml is searched."""
    import json

    data = tmp_path / "series.csv"
    wide_series([f"t{i}" for i in range(24)], n=90).to_csv(data, index=False)
    run_dir = tmp_path / "run"
    assert main(["search", str(data), "--target", "label", "--num-trials", "1", "--time-budget", "30",
                 "--output", str(run_dir), *HOLDOUT_NO_ENSEMBLE_FLAGS, *UNTRACKED_FLAGS]) == 0
    out = capsys.readouterr().out
    assert "sequence view: 24 numeric columns t0 … t23 are ordered time steps" in out
    assert "sequence.yaml" in out
    trials = [json.loads(line) for line in (run_dir / "trials.jsonl").read_text().splitlines()]
    architectures = {t["config"]["architecture"]["name"] for t in trials if t["trial_id"] != "ensemble"}
    assert architectures <= {"fcn", "resnet1d", "inception_time", "cnn1d", "lstm", "gru", "rnn", "transformer"}
    assert json.loads((run_dir / "data_report.json").read_text())["input_view"].startswith("sequence view")
