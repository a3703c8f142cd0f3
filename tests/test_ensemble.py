"""Greedy ensemble selection (Caruana et al. 2004) over the top trials' validation outputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from artifact_helpers import mlp_config, prepare, two_scaler_space

import automl
from automl.cli import main
from automl.engine.trial_records import TrialRecord
from automl.ensemble import ENSEMBLE_ID, select_ensemble
from automl.export import encode_rows
from automl.tasks import task_named
from automl.refit import fit_on_train_and_val, refit_and_test
from presets import UNTRACKED, ONE_TRIAL_AT_A_TIME


def one_hot_probabilities(labels: np.ndarray, n_classes: int, confidence: float) -> np.ndarray:
    probabilities = np.full((len(labels), n_classes), (1 - confidence) / (n_classes - 1))
    probabilities[np.arange(len(labels)), labels] = confidence
    return probabilities


def test_selection_combines_models_that_err_on_different_rows():
    y = np.array([0, 1] * 30)
    members = {}
    for name, wrong_rows, confidence in (("a", slice(0, 20), 0.9), ("b", slice(20, 40), 0.8), ("c", slice(40, 60), 0.7)):
        labels = y.copy()
        labels[wrong_rows] = 1 - y[wrong_rows]
        members[name] = one_hot_probabilities(labels, 2, confidence)  # each right on 2/3 of the rows
    selection = select_ensemble(members, y, "binary")
    assert selection.val_metrics["accuracy"] > 0.9
    assert len(selection.weights) >= 2
    assert sum(selection.weights.values()) == pytest.approx(1.0)


def test_selection_keeps_the_best_model_alone_when_others_only_hurt():
    y = np.array([0, 1, 2] * 20)
    noisy = (y + 1) % 3
    predictions = {"best": one_hot_probabilities(y, 3, 0.9), "bad": one_hot_probabilities(noisy, 3, 0.9)}
    assert select_ensemble(predictions, y, "multiclass").weights == {"best": 1.0}


def test_regression_selection_averages_independent_errors():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(400, 1)).astype(np.float32)
    predictions = {name: y + rng.normal(0, 0.5, y.shape) for name in ("a", "b", "c")}
    selection = select_ensemble(predictions, y, "regression")
    single = task_named("regression").score(predictions["a"], y)["rmse"]
    assert len(selection.weights) == 3
    assert selection.val_metrics["rmse"] < 0.75 * single


def test_an_out_of_fold_ensemble_is_scored_as_the_mean_of_its_folds_and_wins_the_tie_selection_kept_it_for(tmp_path):
    # Both trials predict the same labels (5 rows wrong, all in the last 25-row fold); the second
    # is less sure, so blending it in lowers the log-loss and selection keeps it. Scored on the
    # pooled 127 rows (122/127 = 0.9606) the ensemble looked better than the best trial's mean of
    # folds (0.96); scored as the trials are, it ties, and wins the tie by the log-loss that
    # selection kept it for.
    from dataclasses import replace

    from automl.ensemble import VAL_OUTPUTS_FILE, choose_ensemble, rank_with_ensemble

    y = np.array([0, 1] * 63 + [0])
    fold_rows = np.array_split(np.arange(len(y)), 5)  # 26, 26, 25, 25, 25 rows
    labels = y.copy()
    labels[fold_rows[4][:5]] = 1 - y[fold_rows[4][:5]]
    records = []
    for trial_id, confidence in (("sure", 0.99), ("unsure", 0.6)):
        folder = tmp_path / trial_id
        folder.mkdir()
        np.save(folder / VAL_OUTPUTS_FILE, np.log(one_hot_probabilities(labels, 2, confidence)))
        fold_mean = np.mean([np.mean(labels[rows] == y[rows]) for rows in fold_rows])
        records.append(TrialRecord(trial_id, {"epochs": 3}, {"best_val_accuracy": fold_mean, "best_epoch": 3}, "completed",
                                   checkpoint=str(folder)))
    ensemble = choose_ensemble(records, 10, "binary", y, metric="accuracy", fold_rows=fold_rows).record
    assert ensemble is not None and len(ensemble.config["ensemble"]) == 2
    assert ensemble.metrics["best_val_accuracy"] == pytest.approx(0.96)
    assert ensemble.metrics["val_log_loss"] < task_named("binary").score(np.log(one_hot_probabilities(labels, 2, 0.99)), y)["log_loss"]

    behind = replace(ensemble, metrics={**ensemble.metrics, "best_val_accuracy": 0.95}, status=ensemble.status)
    ranked_records, board = rank_with_ensemble(records, behind, "accuracy", "max")
    assert board.loc[0, "trial_id"] == "sure" and "final model" not in behind.status and len(ranked_records) == 3
    _, board = rank_with_ensemble(records, ensemble, "accuracy", "max")
    assert board.loc[0, "trial_id"] == ENSEMBLE_ID and ensemble.status.endswith("the final model (it wins on validation)")


def saved_trial(folder, trial_id: str, outputs, accuracy: float, error: str = "") -> TrialRecord:
    """A finished trial whose checkpoint folder holds ``outputs`` as its validation outputs (none: ``None``)."""
    from automl.ensemble import VAL_OUTPUTS_FILE

    checkpoint = folder / trial_id
    checkpoint.mkdir()
    if outputs is not None:
        np.save(checkpoint / VAL_OUTPUTS_FILE, outputs)
    metrics = {} if error else {"best_val_accuracy": accuracy, "best_epoch": 3}
    return TrialRecord(trial_id, {"epochs": 3}, metrics, "error" if error else "completed", error=error, checkpoint=str(checkpoint))


def test_selection_names_each_trial_it_leaves_out_and_why_in_the_ensembles_record(tmp_path):
    from automl.ensemble import choose_ensemble

    y = np.array([0, 1] * 30)
    labels = y.copy()
    labels[:6] = 1 - y[:6]  # both usable trials err on the same rows; the unsure one lowers the log-loss
    logits = lambda confidence: np.log(one_hot_probabilities(labels, 2, confidence))  # noqa: E731
    with_nan = logits(0.9)
    with_nan[7] = np.nan
    records = [
        saved_trial(tmp_path, "sure", logits(0.99), 0.9),
        saved_trial(tmp_path, "unsure", logits(0.6), 0.9),
        saved_trial(tmp_path, "silent", None, 0.85),
        saved_trial(tmp_path, "short", logits(0.9)[:40], 0.85),
        saved_trial(tmp_path, "three_classes", np.zeros((60, 3)), 0.85),
        saved_trial(tmp_path, "nan_row", with_nan, 0.85),
        saved_trial(tmp_path, "crashed", None, 0.0, error="RuntimeError: boom"),
    ]
    outcome = choose_ensemble(records, 10, "binary", y, metric="accuracy")
    assert outcome.record is not None and [m["trial_id"] for m in outcome.record.config["ensemble"]] == ["sure", "unsure"]
    assert outcome.skipped == {
        "silent": "it saved no validation outputs",
        "short": "its validation outputs cover 40 rows, not the 60 that selection scores",
        "three_classes": "its validation outputs have (3,) values per row, the better trials' (2,)",
        "nan_row": "its validation outputs are NaN or infinite on 1 of the 60 rows selection scores",
        "crashed": "it failed (RuntimeError: boom)",
    }
    assert outcome.record.config["skipped"] == outcome.skipped
    assert "left out 5: trial silent: it saved no validation outputs; trial short: " in outcome.record.status
    assert outcome.note == outcome.record.status

    # Left with one usable trial, no ensemble forms, and the line says why, naming the others.
    alone = choose_ensemble([records[0], records[2]], 10, "binary", y, metric="accuracy")
    assert alone.record is None and alone.skipped == {"silent": "it saved no validation outputs"}
    assert alone.note == ("no ensemble: 1 of the top 2 trials have usable validation outputs, and an ensemble needs 2; "
                          "left out 1: trial silent: it saved no validation outputs")


def test_ensemble_artifact_averages_members_refitted_on_their_own_preprocessing_and_exports(blobs_frame, tmp_path):
    standard, minmax = {"imputer": "median", "scaler": "standard"}, {"imputer": "median", "scaler": "minmax"}
    prepared, components = prepare(blobs_frame, "species", variants=[standard, minmax])
    members = [
        {"trial_id": "t1", "weight": 0.75, "config": {**mlp_config(prepared.task, seed=1), "preprocessing": standard}, "epochs": 6},
        {"trial_id": "t2", "weight": 0.25, "config": {**mlp_config(prepared.task, seed=2, dropout=False), "preprocessing": minmax}, "epochs": 6},
    ]
    record = TrialRecord(ENSEMBLE_ID, {"architecture": {"name": ENSEMBLE_ID}, "ensemble": members}, {}, "ensemble")
    refit = refit_and_test(record, prepared, components, tmp_path / "ensemble", precision="fp32")

    # The second member is the network a refit on its own (min-max) variant gives, not on the default one.
    alone = fit_on_train_and_val(members[1]["config"], 6, prepared.with_preprocessing(minmax), components).network
    for name, tensor in alone.state_dict().items():
        torch.testing.assert_close(refit.network.members[1].state_dict()[name], tensor.cpu())

    rows = blobs_frame.drop(columns=["species"]).head(30)
    ensemble = automl.load(tmp_path / "ensemble")
    assert [f.scaler for f in ensemble.member_features] == ["standard", "minmax"]
    with torch.no_grad():
        member_probabilities = [torch.softmax(m(torch.as_tensor(f.transform(rows))), dim=1).numpy()
                                for m, f in zip(ensemble.network.members, ensemble.member_features)]
    expected = 0.75 * member_probabilities[0] + 0.25 * member_probabilities[1]
    np.testing.assert_allclose(ensemble.predict_proba(rows), expected, atol=1e-5)
    assert list(ensemble.predict(rows)) == list(ensemble.classes_[expected.argmax(axis=1)])
    assert set(json.loads((tmp_path / "ensemble" / "metrics.json").read_text())["test"]) >= {"accuracy"}

    # Both export formats run each member's own preprocessing inside the module.
    assert main(["export", str(tmp_path / "ensemble"), "-o", str(tmp_path / "script")]) == 0
    assert main(["export", str(tmp_path / "ensemble"), "--format", "torch-export", "-o", str(tmp_path / "program")]) == 0
    preprocessing = json.loads((tmp_path / "script" / "preprocessing.json").read_text())
    assert preprocessing["captured_by"] == "torch.jit.script"
    for module in (torch.jit.load(str(tmp_path / "script" / "model.torchscript.pt")),
                   torch.export.load(str(tmp_path / "program" / "model.pt2")).module()):
        with torch.no_grad():
            exported = module(*encode_rows(rows, preprocessing)).numpy()
        np.testing.assert_allclose(exported, expected, atol=1e-5)


@pytest.fixture
def hard_frame() -> pd.DataFrame:
    """Overlapping classes: single small models disagree, so ensembles have room."""
    rng = np.random.default_rng(3)
    n = 300
    label = rng.integers(0, 3, n)
    frame = pd.DataFrame({f"x{i}": label * 0.6 * (i % 2 * 2 - 1) + rng.normal(0, 1, n) for i in range(6)})
    frame["label"] = np.array(["p", "q", "r"])[label]
    return frame


@pytest.mark.slow
def test_search_with_ensemble_ranks_it_from_saved_validation_outputs(hard_frame, tiny_space, ray_session, tmp_path, capsys):
    space = tiny_space(
        "epochs: 3\nbatch_size: 32\narchitectures:\n  include: [mlp]\n  mlp: {depth: 1, width: {choice: [8, 64]}}\n"
        "optimizers:\n  include: [adam]\n  adam: {lr: {loguniform: [1.0e-3, 3.0e-2]}}\n"
        # Only plain losses and dropout: the catalogue's heavy regularizers (mixup, noise, focal
        # loss) leave 3-epoch trials so uneven that one wins alone and no ensemble forms.
        "losses:\n  include: [cross_entropy]\nregularizers:\n  include: [dropout]\n"
    )
    result = automl.AutoML(target="label", space=space, num_trials=4, scheduler="fifo", ensemble=3, validation="holdout",
                           output=tmp_path / "run", **UNTRACKED, **ONE_TRIAL_AT_A_TIME).fit(hard_frame)
    board = result.leaderboard
    trials = board[board.trial_id != ENSEMBLE_ID]

    # Each trial's saved validation outputs are those of its best epoch: they reproduce its score.
    records = [json.loads(line) for line in (tmp_path / "run" / "trials.jsonl").read_text().splitlines()]
    y_val = _validation_labels(hard_frame)
    for row in trials.itertuples():
        checkpoint = next(r for r in _trial_records(result) if r.trial_id == row.trial_id).checkpoint
        outputs = np.load(f"{checkpoint}/val_outputs.npy")
        assert task_named("multiclass").score(outputs, y_val)["accuracy"] == pytest.approx(row.val_accuracy)

    # Four weak, different trials: selection keeps more than one, so the ensemble has its own row.
    ensemble_row = board[board.trial_id == ENSEMBLE_ID].iloc[0]
    assert ensemble_row.val_accuracy >= trials.val_accuracy.max()
    assert ensemble_row.hyperparameters.count("×") >= 2
    assert any(r["trial_id"] == ENSEMBLE_ID for r in records)
    # The final model is the ensemble exactly when it ranks first (ties go to the ensemble).
    final_config = json.loads((result.artifact_dir / "model.json").read_text())["config"]
    assert ("ensemble" in final_config) == (board.loc[0, "trial_id"] == ENSEMBLE_ID)
    assert len(automl.load(result.run_dir).predict(hard_frame.head(5))) == 5

    # The Python API's leaderboard and the CLI's are the same table.
    from automl.leaderboard import to_markdown

    capsys.readouterr()
    assert main(["leaderboard", str(result.run_dir), "--format", "md"]) == 0
    assert capsys.readouterr().out == to_markdown(board)


def _validation_labels(frame):
    from automl.config import DataConfig
    from automl.data import prepare_data

    return prepare_data(frame, DataConfig(target="label", validation="holdout")).y_val


def _trial_records(result):
    lines = (result.run_dir / "trials.jsonl").read_text().splitlines()
    from automl.engine.trial_records import TrialRecord

    out = []
    for line in lines:
        r = json.loads(line)
        if r["trial_id"] == ENSEMBLE_ID:
            continue
        trial_dir = result.run_dir / "trials" / r["trial_id"]
        checkpoints = sorted(trial_dir.glob("checkpoint_*"))
        out.append(TrialRecord(r["trial_id"], r["config"], r["metrics"], r["status"], checkpoint=str(checkpoints[-1])))
    return out


def test_search_command_takes_an_ensemble_size_and_ensembles_ten_trials_by_default():
    from automl.cli import build_parser

    assert build_parser().parse_args(["search", "data.csv", "--ensemble", "5"]).ensemble == 5
    assert build_parser().parse_args(["search", "data.csv"]).ensemble == 10
    assert build_parser().parse_args(["search", "data.csv", "--ensemble", "0"]).ensemble == 0


@pytest.fixture
def noisy_regression_frame() -> pd.DataFrame:
    """A nonlinear target with noise, and few rows: a wide network fits it with much variance of its own."""
    rng = np.random.default_rng(3)
    n = 300
    frame = pd.DataFrame({f"x{i}": rng.normal(0, 1, n) for i in range(4)})
    frame["y"] = np.sin(2 * frame.x0) + frame.x1 * frame.x2 + rng.normal(0, 0.3, n)
    return frame


def test_an_ensemble_that_wins_is_refitted_predicts_exports_and_serves(noisy_regression_frame, tiny_space, ray_session, tmp_path):
    # Two fixed, equally good trials that differ only in their scaler (the grid tries both), so they
    # err differently: their average beats either (validation RMSE 0.53 and 0.54 alone, 0.46 together).
    space = tiny_space(two_scaler_space(10))
    result = automl.AutoML(target="y", space=space, searcher="grid", num_trials=1, scheduler="fifo", ensemble=2,
                           validation="holdout", output=tmp_path / "run", **UNTRACKED,
                           **ONE_TRIAL_AT_A_TIME).fit(noisy_regression_frame)

    board = result.leaderboard
    assert list(board.trial_id).count(ENSEMBLE_ID) == 1 and len(board) == 3
    assert board.loc[0, "trial_id"] == ENSEMBLE_ID
    assert board.loc[0, "val_rmse"] < board.val_rmse.iloc[1:].min()
    final_config = json.loads((result.artifact_dir / "model.json").read_text())["config"]
    assert sorted(m["config"]["preprocessing"]["scaler"] for m in final_config["ensemble"]) == ["robust", "standard"]
    assert set(result.test_metrics) >= {"rmse"}

    rows = noisy_regression_frame.drop(columns=["y"]).head(20)
    ensemble = automl.load(result.run_dir)
    assert [f.scaler for f in ensemble.member_features] == [m["config"]["preprocessing"]["scaler"] for m in final_config["ensemble"]]
    predictions = ensemble.predict(rows)
    assert predictions.shape == (20, ) and np.isfinite(predictions).all()

    assert main(["export", str(result.artifact_dir), "-o", str(tmp_path / "export")]) == 0
    preprocessing = json.loads((tmp_path / "export" / "preprocessing.json").read_text())
    module = torch.jit.load(str(tmp_path / "export" / "model.torchscript.pt"))
    with torch.no_grad():
        exported = module(*encode_rows(rows, preprocessing)).numpy()
    np.testing.assert_allclose(exported.reshape(-1), predictions, rtol=1e-4, atol=1e-4)

    assert _served_predictions(ensemble, rows) == pytest.approx(list(predictions), rel=1e-6)


def _served_predictions(predictor, rows: pd.DataFrame) -> list:
    """What a real `automl serve` HTTP server (in a thread, on a free loopback port) answers for ``rows``."""
    import threading
    import urllib.request

    from automl.serve import make_server

    server = make_server(predictor, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/predict"
        body = json.dumps({"rows": rows.to_dict(orient="records")}).encode()
        request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read())["predictions"]
    finally:
        server.shutdown()
        server.server_close()


def test_the_search_finished_line_counts_trials_not_the_ensemble_s_row():
    import io

    from rich.console import Console

    from automl.progress import SearchDisplay

    out = io.StringIO()
    board = pd.DataFrame({"trial_id": [ENSEMBLE_ID, "a1", "b2", "c3"], "val_accuracy": [0.9, 0.8, 0.7, 0.6]})
    SearchDisplay(Console(file=out), live=False).on_event("leaderboard", {"leaderboard": board, "seconds": 2.0, "metric": "accuracy"})
    assert "search finished: 3 trials in 2.0 s" in out.getvalue()
