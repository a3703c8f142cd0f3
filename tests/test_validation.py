"""Cross-validated trials: folds, per-fold preprocessing, out-of-fold predictions, the bag."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from artifact_helpers import mlp_config, prepare, two_scaler_space

import automl
from automl.cli import main
from automl.data.folds import fold_count, fold_indices
from automl.data.weights import class_weights
from automl.engine.trial_records import TrialRecord
from automl.errors import AutoMLError
from automl.export import encode_rows
from automl.refit import refit_and_test
from automl.training.building import build_model
from automl.training.checkpoints import FOLD_MODELS_FILE
from automl.training.loop import train_epochs
from automl.training.records import DataFacts, TrainingSet, out_of_fold
from presets import UNTRACKED, ONE_TRIAL_AT_A_TIME


def labelled(n: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n)
    return pd.DataFrame({"x": label + rng.normal(0, 0.5, n), "z": rng.normal(0, 1, n), "g": np.arange(n) // 6,
                         "t": rng.permutation(n), "y": np.array(["a", "b"])[label]})


def easy_regression(n: int = 150, seed: int = 0) -> pd.DataFrame:
    """A nearly linear regression table in large units (mean about 1000, std about 45)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (n, 2))
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "y": 1000 + 40 * x[:, 0] - 20 * x[:, 1] + rng.normal(0, 2, n)})


def fold_training_sets(prepared) -> TrainingSet:
    """What the search hands its trials: the training split with one set per fold."""
    return TrainingSet.of(prepared)


def assert_partition(folds, n: int) -> None:
    validated = np.concatenate([val for _, val in folds])
    assert sorted(validated) == list(range(n)), "every training row validates in exactly one fold"
    for fit, val in folds:
        assert not set(fit) & set(val)


def test_stratified_folds_never_share_rows_and_keep_class_shares():
    frame = labelled(60)
    folds = fold_indices(frame.y, True, 5, seed=0)
    assert len(folds) == 5
    assert_partition(folds, 60)
    share = (frame.y == "a").mean()
    for _, val in folds:
        assert abs((frame.y.iloc[val] == "a").mean() - share) < 0.1


def test_group_folds_keep_each_group_on_one_side():
    frame = labelled(60)
    folds = fold_indices(frame.y, True, 4, seed=0, groups=frame.g)
    assert_partition(folds, 60)
    for fit, val in folds:
        assert not set(frame.g.iloc[fit]) & set(frame.g.iloc[val])


def test_time_folds_validate_only_on_rows_later_than_they_fit_on():
    frame = labelled(60)
    folds = fold_indices(frame.y, True, 4, seed=0, groups=None, times=frame.t)
    assert len(folds) == 4
    for fit, val in folds:
        assert frame.t.iloc[fit].max() < frame.t.iloc[val].min()
    validated = np.concatenate([val for _, val in folds])
    assert len(validated) == len(set(validated))  # once at most; the earliest block only fits


def test_auto_cross_validates_small_tables_and_holds_out_large_ones():
    # The shipped threshold (docs/validation.md), not a patched one.
    assert fold_count("auto", 2000) == 5 and fold_count("auto", 2001) == 0
    assert fold_count("holdout", 50) == 0 and fold_count("cv:3", 10**6) == 3
    with pytest.raises(AutoMLError, match="unknown validation"):
        fold_count("cv:1", 10)


def test_explicit_folds_the_data_cannot_give_are_refused():
    frame = labelled(60)
    with pytest.raises(AutoMLError, match="cv:20 needs 20 groups"):
        fold_indices(frame.y, True, 20, seed=0, groups=frame.g)
    assert len(fold_indices(frame.y, True, 20, seed=0, groups=frame.g, explicit=False)) == 10


def test_a_folds_preprocessing_never_sees_its_validation_rows():
    frame = labelled(80)
    prepared, _ = prepare(frame.drop(columns=["g", "t"]), "y", validation="cv:4")
    assert len(prepared.folds) == 4 and len(prepared.X_val) == 0
    assert len(prepared.X_train) + len(prepared.X_test) == 80  # train ∪ val of the hold-out, the test split apart
    for fold in prepared.folds:
        features = fold.variant(None).features
        scaler = features.numeric_pipelines_[0].named_steps["scale"]
        # The fold's fit rows as raw values: every training row decoded back by the whole-data scaler.
        whole = prepared.features.numeric_pipelines_[0].named_steps["scale"]
        raw = prepared.X_train[:, :2] * whole.scale_ + whole.mean_
        np.testing.assert_allclose(scaler.mean_, raw[fold.train].mean(axis=0), rtol=1e-5)
        assert not np.allclose(scaler.mean_, raw.mean(axis=0))
        assert fold.variant(None).X_train.shape[1] == prepared.X_train.shape[1]  # one layout for every fold


def test_a_folds_target_scaler_never_sees_its_validation_rows():
    prepared, _ = prepare(easy_regression(), "y", validation="cv:4")
    whole = prepared.target_encoder
    y = whole.decode(prepared.y_train)  # every training row, in the target's units
    for fold, fold_set in zip(prepared.folds, fold_training_sets(prepared).folds):
        scaler = fold.target_encoder
        assert scaler.mean_ == pytest.approx(y[fold.train].mean(), rel=1e-6)
        assert scaler.std_ == pytest.approx(y[fold.train].std(), rel=1e-5)
        assert scaler.mean_ != pytest.approx(whole.mean_, rel=1e-4) and scaler.std_ != pytest.approx(whole.std_, rel=1e-4)
        # The fold's model trains on its fit rows standardized by them alone, and its
        # validation metrics come back in the target's units by the same scaler.
        assert fold_set.y_train.mean() == pytest.approx(0, abs=1e-5) and fold_set.y_train.std() == pytest.approx(1, rel=1e-5)
        np.testing.assert_allclose(scaler.decode(fold_set.y_val), y[fold.val], rtol=1e-6)
        assert fold_set.target_scale == scaler.std_


def test_a_folds_class_weights_come_from_its_fit_rows_and_the_refit_keeps_every_rows():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(0, 1, 71), "y": np.repeat(["common", "rare", "scarce"], [47, 15, 9])})
    prepared, _ = prepare(frame, "y", validation="cv:3", class_weights="balanced")
    assert prepared.class_weights is not None
    np.testing.assert_allclose(prepared.class_weights, class_weights(prepared.y_train, 3))  # the refit's: every training row
    differs = []
    for fold, fold_set in zip(prepared.folds, fold_training_sets(prepared).folds):
        own = class_weights(prepared.y_train[fold.train], 3)
        np.testing.assert_allclose(fold_set.facts().class_weights, own)  # what the fold's loss builder receives
        differs.append(not np.allclose(own, prepared.class_weights, rtol=1e-6, atol=0))
    assert any(differs), "the table must tell the fit rows' weights from every row's"
    assert prepared.report["class_weights"] == {c: round(float(w), 4) for c, w in zip(["common", "rare", "scarce"], prepared.class_weights)}
    assert prepared.report["class_weights_in_folds"]


def test_out_of_fold_outputs_share_the_encoding_of_every_training_row():
    prepared, _ = prepare(easy_regression(), "y", validation="cv:3")
    exact = [fold.y_val for fold in prepared.folds]  # each fold model's perfect outputs, in its fold's encoding
    pooled = fold_training_sets(prepared).out_of_fold_outputs(exact)
    np.testing.assert_allclose(pooled, prepared.y_train, atol=1e-5)  # what ensemble selection scores against


def test_holdout_keeps_the_split_and_the_test_rows_are_the_same_either_way():
    frame = labelled(80).drop(columns=["g", "t"])
    holdout, _ = prepare(frame, "y", validation="holdout")
    folded, _ = prepare(frame, "y", validation="cv:3")
    assert not holdout.folds and len(holdout.X_val) > 0
    # The same test rows (their encoding differs: the scaler now fits on train ∪ val).
    np.testing.assert_array_equal(holdout.y_test, folded.y_test)
    scale = lambda p: p.features.numeric_pipelines_[0].named_steps["scale"]  # noqa: E731
    np.testing.assert_allclose(holdout.X_test[:, :2] * scale(holdout).scale_ + scale(holdout).mean_,
                               folded.X_test[:, :2] * scale(folded).scale_ + scale(folded).mean_, rtol=1e-4, atol=1e-5)
    assert len(folded.X_train) == len(holdout.X_train) + len(holdout.X_val)


def test_out_of_fold_outputs_cover_every_training_row_once():
    frame = labelled(60).drop(columns=["g", "t"])
    prepared, _ = prepare(frame, "y", validation="cv:3")
    outputs = [np.full((len(f.val), 2), i, dtype=np.float32) for i, f in enumerate(prepared.folds)]
    oof = out_of_fold(outputs, [f.val for f in prepared.folds], len(prepared.y_train))
    assert np.isfinite(oof).all()
    for i, fold in enumerate(prepared.folds):
        assert (oof[fold.val] == i).all()


def bagged_artifact(frame: pd.DataFrame, target: str, folder, epochs: int = 3):
    """A bag saved by the real refit: each fold model trained on its fold (as a trial would) and
    read back from a trial checkpoint folder."""
    prepared, components = prepare(frame, target, validation="cv:3")
    config = {**mlp_config(prepared.task), "epochs": epochs}
    states = []
    for fold in prepared.folds:
        variant = fold.variant(None)
        facts = DataFacts.of(prepared.task, prepared.input_kind, prepared.output_size, fold.y_train)
        model = build_model(config, components, prepared.input_shape, prepared.output_size, "cpu", facts)
        for _ in train_epochs(model, variant.X_train, fold.y_train, epochs, 32, "cpu", 0):
            pass
        states.append(model.network.state_dict())
    checkpoint = folder / "checkpoint"
    checkpoint.mkdir()
    torch.save(states, checkpoint / FOLD_MODELS_FILE)
    record = TrialRecord("t0", config, {"best_epoch": epochs}, "completed", checkpoint=str(checkpoint))
    refit = refit_and_test(record, prepared, components, folder / "model", final_model="bag")
    return prepared, refit, states


def test_a_bag_of_fold_models_predicts_and_exports_after_save_and_load(blobs_frame, tmp_path):
    prepared, refit, states = bagged_artifact(blobs_frame, "species", tmp_path)
    info = json.loads((tmp_path / "model" / "model.json").read_text())
    assert info["config"]["final_model"] == "bag" and [m["fold"] for m in info["config"]["ensemble"]] == [1, 2, 3]
    bag = automl.load(tmp_path / "model")
    for member, state in zip(bag.network.members, states):
        for name, tensor in state.items():
            torch.testing.assert_close(member.state_dict()[name], tensor)
    rows = blobs_frame.drop(columns=["species"]).head(20)
    with torch.no_grad():
        alone = [torch.softmax(m(torch.as_tensor(f.transform(rows))), dim=1).numpy()
                 for m, f in zip(bag.network.members, bag.member_features)]
    expected = np.mean(alone, axis=0)
    np.testing.assert_allclose(bag.predict_proba(rows), expected, atol=1e-5)
    # Each fold model reads the rows through its own fold's fitted scaler.
    means = [f.numeric_pipelines_[0].named_steps["scale"].mean_[0] for f in bag.member_features]
    assert len(set(np.round(means, 6))) == 3
    assert main(["export", str(tmp_path / "model"), "-o", str(tmp_path / "script")]) == 0
    preprocessing = json.loads((tmp_path / "script" / "preprocessing.json").read_text())
    module = torch.jit.load(str(tmp_path / "script" / "model.torchscript.pt"))
    with torch.no_grad():
        exported = module(*encode_rows(rows, preprocessing)).numpy()
    np.testing.assert_allclose(exported, expected, atol=1e-5)


def test_a_regression_bag_predicts_exports_and_serves_in_the_targets_units(tmp_path):
    from serve_helpers import post, serving

    frame = easy_regression()
    prepared, _, _ = bagged_artifact(frame, "y", tmp_path, epochs=20)
    bag = automl.load(tmp_path / "model")
    assert bag.target_encoder.mean_ == prepared.target_encoder.mean_  # one encoder: every training row's
    rows = frame.drop(columns=["y"])
    predicted = bag.predict(rows)
    # Each fold model's outputs, decoded by the target scaler its fold fitted, averaged.
    with torch.no_grad():
        alone = [fold.target_encoder.decode(member(torch.as_tensor(features.transform(rows))).numpy())
                 for member, features, fold in zip(bag.network.members, bag.member_features, prepared.folds)]
    np.testing.assert_allclose(predicted, np.mean(alone, axis=0), rtol=1e-6)
    assert np.sqrt(np.mean((predicted - frame.y) ** 2)) < 0.3 * frame.y.std()
    for fmt, file in (("torchscript", "model.torchscript.pt"), ("torch-export", "model.pt2")):
        assert main(["export", str(tmp_path / "model"), "--format", fmt, "-o", str(tmp_path / fmt)]) == 0
        preprocessing = json.loads((tmp_path / fmt / "preprocessing.json").read_text())
        path = str(tmp_path / fmt / file)
        module = torch.jit.load(path) if fmt == "torchscript" else torch.export.load(path).module()
        with torch.no_grad():
            exported = module(*encode_rows(rows, preprocessing)).numpy().reshape(-1)
        np.testing.assert_allclose(exported, predicted, rtol=1e-6)
    with serving(tmp_path / "model") as url:
        status, answer = post(url, json.loads(rows.head(5).to_json(orient="records")))
    assert status == 200
    np.testing.assert_allclose(answer["predictions"], predicted[:5], rtol=1e-6)


def test_refit_with_folds_trains_one_model_on_every_training_row(blobs_frame, tmp_path):
    prepared, components = prepare(blobs_frame, "species", validation="cv:3")
    record = TrialRecord("t0", {**mlp_config(prepared.task), "epochs": 2}, {"best_epoch": 2}, "completed")
    refit = refit_and_test(record, prepared, components, tmp_path / "model", final_model="refit")
    info = json.loads((tmp_path / "model" / "model.json").read_text())
    assert info["config"]["final_model"] == "refit" and "ensemble" not in info["config"]
    assert not isinstance(refit.network, automl.tasks.ensemble.EnsembleNetwork)
    assert refit.description == "the best trial, refit on every training row for 2 epochs"


def test_a_bag_without_fold_models_is_refit_and_the_result_names_the_trial_and_why(blobs_frame, tmp_path):
    prepared, components = prepare(blobs_frame, "species", validation="cv:3")
    record = TrialRecord("t0", {**mlp_config(prepared.task), "epochs": 2}, {"best_epoch": 2}, "completed")  # no checkpoint
    refit = refit_and_test(record, prepared, components, tmp_path / "model", final_model="bag")
    assert refit.note == ("refit on every training row instead of the bag that --final-model bag asks for: "
                          "trial t0 saved no fold models (it has no checkpoint)")
    assert refit.description == "the best trial, refit on every training row for 2 epochs"
    assert json.loads((tmp_path / "model" / "model.json").read_text())["config"]["final_model"] == "refit"
    # Asked for a refit, or without folds, there is nothing to explain.
    assert refit_and_test(record, prepared, components, tmp_path / "asked", final_model="refit").note == ""


def test_a_checkpoint_holds_and_restores_every_fold_model():
    from automl.training.checkpoints import restore_training_state, training_state

    prepared, components = prepare(labelled(60).drop(columns=["g", "t"]), "y", validation="cv:3")
    config = mlp_config(prepared.task)
    build = lambda seed: [build_model({**config, "seed": seed}, components, prepared.input_shape, prepared.output_size, "cpu")  # noqa: E731
                          for _ in prepared.folds]
    trained = build(0)
    for model, fold in zip(trained, prepared.folds):
        for _ in train_epochs(model, fold.variant(None).X_train, prepared.y_train[fold.train], 1, 16, "cpu", 0):
            pass
    state = training_state(trained, 1, 0.8, 1, {})
    restored = build(1)
    assert restore_training_state(state, restored, config) == 1
    for a, b in zip(trained, restored):
        for name, tensor in a.network.state_dict().items():
            torch.testing.assert_close(b.network.state_dict()[name], tensor)
    with pytest.raises(RuntimeError, match="3 fold model"):
        restore_training_state(state, restored[:1], config)


@pytest.mark.slow
def test_an_out_of_fold_ensemble_wins_and_is_the_final_bag(noisy_frame, tiny_space, ray_session, tmp_path):
    # Two fixed trials that differ only in their scaler (the grid tries both) err differently.
    space = tiny_space(two_scaler_space(8))
    result = automl.AutoML(target="y", space=space, searcher="grid", num_trials=1, scheduler="fifo", ensemble=2,
                           validation="cv:3", output=tmp_path / "run", **UNTRACKED,
                           **ONE_TRIAL_AT_A_TIME).fit(noisy_frame)
    board = result.leaderboard
    assert board.loc[0, "trial_id"] == "ensemble"
    assert "out-of-fold" in board.loc[0, "status"] and "the final model" in board.loc[0, "status"]
    trials = [json.loads(line) for line in (result.run_dir / "trials.jsonl").read_text().splitlines()]
    assert all(t["metrics"]["folds"] == 3 for t in trials if t["trial_id"] != "ensemble")
    config = json.loads((result.artifact_dir / "model.json").read_text())["config"]
    assert config["final_model"] == "bag" and len(config["ensemble"]) == 6  # 2 trials × 3 fold models
    assert result.best["final_model"] == "an ensemble of 2 trials, each the bag of its 3 fold models at its best epoch (no refit)"
    predictions = automl.load(result.run_dir).predict(noisy_frame.drop(columns=["y"]).head(10))
    assert predictions.shape == (10,) and np.isfinite(predictions).all()


@pytest.fixture
def noisy_frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"x{i}": rng.normal(0, 1, 240) for i in range(4)})
    frame["y"] = np.sin(2 * frame.x0) + frame.x1 * frame.x2 + rng.normal(0, 0.3, 240)
    return frame


def test_by_default_a_small_table_is_cross_validated_and_ensembled():
    from automl.options import default_options

    assert default_options()["validation"] == "auto" and default_options()["ensemble"] == 10
    prepared, _ = prepare(labelled(60).drop(columns=["g", "t"]), "y")
    assert len(prepared.folds) == 5 and len(prepared.X_val) == 0
