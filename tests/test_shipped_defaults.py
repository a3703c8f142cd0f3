"""The product as shipped, end to end: `automl search data.csv --target y` with nothing but a trial
count, for a classification and a regression table. Every other setting is the default a user
gets: the default space (which follows the input kind), TPE after the portfolio, ASHA, 5-fold
cross-validation of small tables (``--validation auto``), an out-of-fold ensemble of up to 10
trials, the bag of fold models as the final model, the report. Each search runs once per
module; the tests read it: leaderboard, final model, predict, export, serve, report.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from automl.cli import main
from automl.export import encode_rows
from automl.options import AUTO_FOLDS, default_options
from automl.portfolio import load_portfolio
from automl.predictor import load

import frames
from presets import SHIPPED_DEFAULTS_FLAGS
from serve_helpers import post, serving

TRIALS = 2  # the portfolio's first two entries: RealMLP and the linear fit


def shipped_search(root: Path, frame: pd.DataFrame, target: str) -> Path:
    """``automl search`` of ``frame`` with the shipped defaults and a trial count; its run
    directory, where ``printed.txt`` keeps what the command printed."""
    import contextlib
    import io

    data = root / "data.csv"
    frame.to_csv(data, index=False)
    run_dir, printed = root / "run", io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["search", str(data), "--target", target, "--num-trials", str(TRIALS), "--output", str(run_dir), "-q",
                     *SHIPPED_DEFAULTS_FLAGS])
    assert code == 0
    (root / "printed.txt").write_text(printed.getvalue())
    return run_dir


@pytest.fixture(scope="module")
def classification(ray_session, tmp_path_factory):
    return shipped_search(tmp_path_factory.mktemp("shipped-classification"), frames.blobs(), "species")


@pytest.fixture(scope="module")
def regression(ray_session, tmp_path_factory):
    return shipped_search(tmp_path_factory.mktemp("shipped-regression"), frames.linear_regression(), "y")


def test_a_quiet_search_prints_the_leaderboard_and_the_single_test_evaluation(classification):
    printed = (classification.parent / "printed.txt").read_text()
    assert "| rank | trial_id | architecture |" in printed and "test: accuracy" in printed
    assert "data: " not in printed  # -q leaves out the progress


@pytest.fixture(params=["classification", "regression"])
def run(request) -> Path:
    return request.getfixturevalue(request.param)


def trials(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "trials.jsonl").read_text().splitlines()]


def feature_rows(run_dir: Path, n: int = 25) -> pd.DataFrame:
    request = json.loads((run_dir / "request.json").read_text())
    frame = pd.read_csv(request["data"])
    return frame.drop(columns=[request["options"]["target"]]).head(n)


def test_the_defaults_are_what_the_tests_below_run():
    assert SHIPPED_DEFAULTS_FLAGS == ()
    defaults = default_options()
    assert (defaults["validation"], defaults["ensemble"], defaults["final_model"]) == ("auto", 10, "bag")
    assert (defaults["space"], defaults["scheduler"], defaults["searcher"]) == ("default", "asha", None)


def test_each_trial_is_cross_validated_and_the_portfolio_runs_first(run):
    request = json.loads((run / "request.json").read_text())
    task = "classification" if request["options"]["target"] == "species" else "regression"
    searched = [t for t in trials(run) if t["trial_id"] != "ensemble"]
    assert len(searched) == TRIALS
    assert all(t["metrics"]["folds"] == AUTO_FOLDS for t in searched)
    first = [entry["architecture"]["name"] for entry in load_portfolio()["tabular"][task][:TRIALS]]
    assert sorted(t["config"]["architecture"]["name"] for t in searched) == sorted(first)


def test_the_leaderboard_ranks_every_trial_and_the_ensemble_on_validation(run, capsys):
    board = pd.read_csv(run / "leaderboard.csv")
    summary = json.loads((run / "result.json").read_text())
    metric, mode = summary["metric"], summary["mode"]
    scores = board[f"val_{metric}"]
    assert list(board["rank"]) == list(range(1, len(board) + 1))
    assert (scores.is_monotonic_decreasing if mode == "max" else scores.is_monotonic_increasing)
    assert len(board) in (TRIALS, TRIALS + 1)  # the ensemble's row, unless selection kept one trial alone
    assert summary["best"]["trial_id"] == board.loc[0, "trial_id"]
    assert main(["leaderboard", str(run), "--format", "csv"]) == 0
    assert pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))["trial_id"].tolist() == board["trial_id"].tolist()


def test_the_final_model_is_the_bag_of_fold_models_tested_once(run):
    model = json.loads((run / "model" / "model.json").read_text())
    config = model["config"]
    assert config["final_model"] == "bag"
    members = config.get("ensemble", [])
    assert len(members) % AUTO_FOLDS == 0 and {m["fold"] for m in members} == set(range(1, AUTO_FOLDS + 1))
    summary = json.loads((run / "result.json").read_text())
    assert "bag of its 5 fold models" in summary["best"]["final_model"]
    saved = json.loads((run / "model" / "metrics.json").read_text())["test"]
    assert saved == summary["test_metrics"]


def test_the_classifier_handed_back_is_accurate_and_predicts_labels_and_probabilities(classification, tmp_path):
    summary = json.loads((classification / "result.json").read_text())
    assert summary["test_metrics"]["accuracy"] >= 0.9  # separable blobs
    rows = feature_rows(classification)
    rows.to_csv(tmp_path / "rows.csv", index=False)
    assert main(["predict", str(classification / "model"), str(tmp_path / "rows.csv"), "-o", str(tmp_path / "p.csv")]) == 0
    predicted = pd.read_csv(tmp_path / "p.csv")
    truth = frames.blobs().head(len(rows))["species"]
    assert (predicted["predicted_species"] == truth).mean() >= 0.9
    probabilities = predicted[["probability_ant", "probability_bee", "probability_cat"]].to_numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)


def test_predict_writes_to_stdout_without_an_output_and_never_over_its_input(classification, tmp_path, capsys):
    rows = tmp_path / "rows.csv"
    feature_rows(classification, n=10).to_csv(rows, index=False)
    assert main(["predict", str(classification / "model"), str(rows), "-o", str(tmp_path / "p.csv")]) == 0
    capsys.readouterr()
    assert main(["predict", str(classification / "model"), str(rows)]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == (tmp_path / "p.csv").read_text().splitlines()[1:]
    original = rows.read_text()
    assert main(["predict", str(classification / "model"), str(rows), "-o", str(rows)]) == 2
    assert "is the input file" in capsys.readouterr().err and rows.read_text() == original


def test_the_regressor_handed_back_predicts_in_the_targets_units(regression):
    summary = json.loads((regression / "result.json").read_text())
    frame = frames.linear_regression()
    assert summary["test_metrics"]["r2"] >= 0.9  # a linear target with little noise
    predicted = load(regression / "model").predict(feature_rows(regression))
    truth = frame["y"].head(len(predicted)).to_numpy()
    assert np.sqrt(np.mean((predicted - truth) ** 2)) < 0.3 * frame["y"].std()


def test_the_exported_model_predicts_what_the_predictor_does(run, tmp_path):
    assert main(["export", str(run / "model"), "-o", str(tmp_path / "export")]) == 0
    preprocessing = json.loads((tmp_path / "export" / "preprocessing.json").read_text())
    module = torch.jit.load(str(tmp_path / "export" / "model.torchscript.pt"))
    rows = feature_rows(run)
    with torch.no_grad():
        exported = module(*encode_rows(rows, preprocessing)).numpy()
    predictor = load(run / "model")
    expected = predictor.predict_proba(rows) if hasattr(predictor, "classes_") else predictor.predict(rows)
    np.testing.assert_allclose(exported.reshape(expected.shape), expected, rtol=1e-4, atol=1e-4)


def test_the_served_model_answers_what_the_predictor_does(run):
    rows = feature_rows(run, n=8)
    expected = load(run / "model").predict(rows)
    with serving(run / "model") as url:
        status, answer = post(url, rows.to_dict(orient="records"))
    assert status == 200
    served = answer["predictions"]
    if expected.dtype.kind in "fc":
        np.testing.assert_allclose(served, expected, rtol=1e-5)
    else:
        assert [str(v) for v in served] == [str(v) for v in expected]


def test_the_report_shows_the_search_and_the_single_test_evaluation(run):
    page = (run / "report.html").read_text()
    board = pd.read_csv(run / "leaderboard.csv")
    assert all(str(trial_id) in page for trial_id in board["trial_id"])
    evaluation = json.loads((run / "model" / "metrics.json").read_text())["test_predictions"]
    test_rows = json.loads((run / "data_report.json").read_text())["split_rows"]["test"]
    tested = evaluation["rows"] if "rows" in evaluation else sum(map(sum, evaluation["confusion_matrix"]))
    assert tested == test_rows
    before = (run / "report.html").stat().st_mtime_ns
    assert main(["report", str(run)]) == 0
    assert (run / "report.html").stat().st_mtime_ns >= before
