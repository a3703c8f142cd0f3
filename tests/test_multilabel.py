"""The multilabel task (several 0/1 target columns, ``--target a,b,c``) end to end, through the
``automl_tasks`` hook like every task: search, rank, refit, predict, export, report."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from series_helpers import wide_series

from automl import AutoMLError
from automl.cli import main
from automl.config import DataConfig
from automl.data import prepare_data
from automl.export import encode_rows

SPACE = """
epochs: 8
batch_size: 32
architectures:
  include: [mlp]
  mlp: {depth: 1, width: {choice: [16, 32]}, normalization: none}
losses:
  include: [binary_cross_entropy]
optimizers:
  include: [adam]
  adam: {lr: 0.01}
"""


@pytest.fixture(scope="module")
def labelled_rows(tmp_path_factory) -> tuple[pd.DataFrame, str]:
    """Three labels, each a plain function of the features, so a small MLP learns them all."""
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n), "colour": rng.choice(["red", "blue"], n)})
    frame["warm"] = (frame["colour"] == "red").astype(int)
    frame["high"] = (frame["x1"] > 0).astype(int)
    frame["wide"] = (frame["x2"] > 0.5).astype(int)
    path = tmp_path_factory.mktemp("multilabel") / "rows.csv"
    frame.to_csv(path, index=False)
    return frame, str(path)


@pytest.fixture(scope="module")
def multilabel_run(labelled_rows, tmp_path_factory, ray_session):
    _, path = labelled_rows
    tmp = tmp_path_factory.mktemp("run")
    space = tmp / "space.yaml"
    space.write_text(SPACE)
    assert main(["search", path, "--target", "warm,high,wide", "--space", str(space), "--num-trials", "2", "--validation", "cv:3",
                 "--scheduler", "fifo", "--no-wandb", "-q", "--output", str(tmp / "run")]) == 0
    return tmp / "run", tmp


def test_a_multilabel_search_ranks_by_macro_f1_and_tests_the_refitted_model_once(multilabel_run):
    run_dir, _ = multilabel_run
    summary = json.loads((run_dir / "result.json").read_text())
    assert (summary["metric"], summary["mode"]) == ("f1_macro", "max")
    board = pd.read_csv(run_dir / "leaderboard.csv")
    assert len(board) == 2 and board["val_f1_macro"].is_monotonic_decreasing
    assert summary["test_metrics"]["f1_macro"] > 0.8
    report = json.loads((run_dir / "data_report.json").read_text())
    assert report["targets"] == ["warm", "high", "wide"]
    assert "multilabel" in (run_dir / "report.html").read_text()
    # Cross-validated like every supervised task: each trial's score is the mean of its 3 fold models'.
    assert report["split_method"] == "random; 3-fold cross-validation of the training rows"
    assert summary["best"]["final_model"] == "the best trial, each the bag of its 3 fold models at its best epoch (no refit)"


def test_multilabel_predictions_have_one_column_per_label(multilabel_run, labelled_rows):
    run_dir, tmp = multilabel_run
    frame, _ = labelled_rows
    rows = tmp / "new.csv"
    frame[["x1", "x2", "colour"]].head(40).to_csv(rows, index=False)
    assert main(["predict", str(run_dir / "model"), str(rows), "-o", str(tmp / "pred.csv")]) == 0
    predicted = pd.read_csv(tmp / "pred.csv")
    assert list(predicted.columns) == ["predicted_warm", "predicted_high", "predicted_wide",
                                       "probability_warm", "probability_high", "probability_wide"]
    truth = frame[["warm", "high", "wide"]].head(40).to_numpy()
    assert (predicted[["predicted_warm", "predicted_high", "predicted_wide"]].to_numpy() == truth).mean() > 0.85


def test_an_exported_multilabel_model_gives_the_same_label_probabilities(multilabel_run, labelled_rows):
    run_dir, tmp = multilabel_run
    frame, _ = labelled_rows
    assert main(["export", str(run_dir / "model"), "-o", str(tmp / "export")]) == 0
    preprocessing = json.loads((tmp / "export" / "preprocessing.json").read_text())
    assert preprocessing["task"] == "multilabel" and preprocessing["classes"] == ["warm", "high", "wide"]
    rows = frame[["x1", "x2", "colour"]].head(10)
    module = torch.jit.load(str(tmp / "export" / "model.torchscript.pt"))
    with torch.no_grad():
        probabilities = module(*encode_rows(rows, preprocessing)).numpy()
    import automl

    np.testing.assert_allclose(probabilities, automl.load(run_dir).predict_proba(rows), atol=1e-5)


def test_a_label_column_that_is_not_zero_or_one_is_one_clear_error(labelled_rows):
    frame, _ = labelled_rows
    with pytest.raises(AutoMLError, match=r"target column 'x1' holds values other than 0 and 1"):
        prepare_data(frame, DataConfig(target="warm,x1"))


def test_multilabel_folds_split_at_random_by_group_or_in_time_order(labelled_rows):
    frame, _ = labelled_rows
    # "store" repeats the group column as a feature, so the training rows' groups can be read back.
    frame = frame.assign(shop=np.arange(len(frame)) % 12, store=(np.arange(len(frame)) % 12).astype(float),
                         day=np.arange(len(frame))[::-1])
    labels = DataConfig(target="warm,high,wide", validation="cv:3")
    at_random = prepare_data(frame.drop(columns=["shop", "day"]), labels)
    assert len(at_random.folds) == 3 and at_random.X_val.shape[0] == 0
    validated = np.concatenate([fold.val for fold in at_random.folds])
    assert sorted(validated) == list(range(len(at_random.X_train))), "every training row validates in exactly one fold"
    for fold in at_random.folds:
        assert fold.y_train.shape == (len(fold.train), 3) and fold.y_val.shape == (len(fold.val), 3)
        np.testing.assert_array_equal(fold.y_val, at_random.y_train[fold.val])

    by_group = prepare_data(frame.drop(columns=["day"]), replace(labels, group_column="shop"))
    assert len(by_group.folds) == 3 and "shop" in by_group.report["columns_used_for_split"]
    store = next(column for column in by_group.X_train.T if 2 < len(np.unique(column)) <= 12)
    for fold in by_group.folds:
        assert not set(store[fold.train]) & set(store[fold.val]), "each shop lies on one side of every fold"

    in_time = prepare_data(frame.drop(columns=["shop"]), replace(labels, time_column="day"))
    assert in_time.report["split_method"].startswith("time order by 'day'") and len(in_time.folds) == 3


def weather_notes(n: int = 120) -> pd.DataFrame:
    """A free-text column whose words say both labels."""
    words = np.array(["sunny warm", "rainy cold", "sunny cold", "rainy warm"])
    kind = np.arange(n) % 4
    return pd.DataFrame({"note": [f"{words[k]} day {i}" for i, k in enumerate(kind)],
                         "sunny": (kind % 2 == 0).astype(int), "warm": np.isin(kind, [0, 3]).astype(int)})


def test_multilabel_reads_a_text_column_or_a_wide_series_table_like_every_supervised_task():
    prepared = prepare_data(weather_notes(), DataConfig(target="sunny,warm"))
    assert prepared.input_kind == "text" and prepared.vocab_size and prepared.y_train.shape[1] == 2
    assert not prepared.folds, "a fold would learn its own vocabulary: --validation auto holds out"

    series = wide_series([f"t{i}" for i in range(30)], n=60)
    series["odd"] = np.arange(60) % 2
    series["early"] = (np.arange(60) < 30).astype(int)
    prepared = prepare_data(series.drop(columns=["label"]), DataConfig(target="odd,early"))
    assert prepared.input_kind == "sequence" and prepared.input_shape == (30, 1) and len(prepared.folds) == 5

