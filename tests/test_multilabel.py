"""The multilabel task (several 0/1 target columns, ``--target a,b,c``) end to end, through the
``automl_tasks`` hook like every task: search, rank, refit, predict, export, report."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from automl import AutoMLError
from automl.cli import main
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
    assert main(["search", path, "--target", "warm,high,wide", "--space", str(space), "--num-trials", "2",
                 "--scheduler", "fifo", "--no-wandb", "-q", "--output", str(tmp / "run")]) == 0
    return tmp / "run", tmp


def test_a_multilabel_search_ranks_by_macro_f1_and_tests_the_refitted_model_once(multilabel_run):
    run_dir, _ = multilabel_run
    summary = json.loads((run_dir / "result.json").read_text())
    assert (summary["metric"], summary["mode"]) == ("f1_macro", "max")
    board = pd.read_csv(run_dir / "leaderboard.csv")
    assert len(board) == 2 and board["val_f1_macro"].is_monotonic_decreasing
    assert summary["test_metrics"]["f1_macro"] > 0.8
    assert json.loads((run_dir / "data_report.json").read_text())["targets"] == ["warm", "high", "wide"]
    assert "multilabel" in (run_dir / "report.html").read_text()


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
    from automl.config import DataConfig
    from automl.data import prepare_data

    frame, _ = labelled_rows
    with pytest.raises(AutoMLError, match=r"target column 'x1' holds values other than 0 and 1"):
        prepare_data(frame, DataConfig(target="warm,x1"))
