"""A trial's checkpoint folder says what it holds, and restore never assumes more: a folder a
kill cut short is not used, and one without training state restarts the trial from epoch 1
with its best score, outputs and fold models so far."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ray.tune import Checkpoint

from artifact_helpers import mlp_config, prepare
from automl.training.checkpoints import (
    FOLD_MODELS_FILE, MANIFEST_FILE, TRAINING_STATE_FILE, VAL_OUTPUTS_FILE, Progress, newest_whole_checkpoint, read_checkpoint,
    write_checkpoint,
)
from automl.training.building import build_model
from automl.training.checkpoints import restore_from, training_state
from automl.training.loop import train_epochs

EPOCHS = [{"epoch": 3, "val_accuracy": 0.8}, {"epoch": 4, "val_accuracy": 0.9}]


@pytest.fixture
def models(blobs_frame):
    """Two fold models of a small MLP, trained one epoch, and their config."""
    prepared, components = prepare(blobs_frame, "species")
    config = mlp_config(prepared.task)
    built = [build_model({**config, "seed": seed}, components, prepared.input_shape, prepared.output_size, "cpu") for seed in (0, 1)]
    for model in built:
        for _ in train_epochs(model, prepared.X_train, prepared.y_train, 1, 32, "cpu", 0):
            pass
    return built, config, lambda: [build_model({**config, "seed": 7}, components, prepared.input_shape, prepared.output_size, "cpu")
                                   for _ in built]


def test_a_checkpoint_whose_copy_a_kill_cut_short_is_not_used_and_the_newest_whole_one_is(tmp_path):
    for index in (1, 2, 3):
        folder = tmp_path / f"checkpoint_{index:06d}"
        folder.mkdir()
        write_checkpoint(folder, Progress(index, 0.5 + index / 10, index, {}), EPOCHS, val_outputs=np.full((4, 3), index, np.float32))
    # Tune copies a folder file by file: the kill left checkpoint 3 without its manifest, and
    # checkpoint 2 with its outputs cut short.
    (tmp_path / "checkpoint_000003" / MANIFEST_FILE).unlink()
    outputs = tmp_path / "checkpoint_000002" / VAL_OUTPUTS_FILE
    outputs.write_bytes(outputs.read_bytes()[:-8])
    assert read_checkpoint(tmp_path / "checkpoint_000003") is None and read_checkpoint(tmp_path / "checkpoint_000002") is None
    newest = newest_whole_checkpoint(tmp_path)
    assert newest.folder == tmp_path / "checkpoint_000001" and newest.index == 1
    assert newest.progress == Progress(1, 0.6, 1, {}) and newest.epochs() == EPOCHS
    assert (newest.val_outputs() == 1).all()


def test_a_checkpoint_says_whether_it_holds_training_state(tmp_path, models):
    built, _, _ = models
    with_state, without = tmp_path / "checkpoint_000000", tmp_path / "checkpoint_000001"
    for folder in (with_state, without):
        folder.mkdir()
    write_checkpoint(with_state, Progress(4, 0.9, 3, {}), EPOCHS, training_state(built, 4, 0.9, 3, {}))
    write_checkpoint(without, Progress(4, 0.9, 3, {}), EPOCHS, val_outputs=np.zeros((4, 3), np.float32))
    assert read_checkpoint(with_state).has_training_state and not read_checkpoint(without).has_training_state
    assert read_checkpoint(without).files == {VAL_OUTPUTS_FILE, "epochs.json"}
    assert TRAINING_STATE_FILE in read_checkpoint(with_state).files


def test_a_trial_handed_a_checkpoint_without_training_state_starts_again_from_epoch_1_with_its_best_so_far(tmp_path, models):
    built, config, fresh = models
    outputs = np.random.default_rng(0).normal(size=(10, 3)).astype(np.float32)
    folds = [{k: v.clone() for k, v in m.network.state_dict().items()} for m in built]
    write_checkpoint(tmp_path, Progress(4, 0.9, 3, {"best_val_loss": 0.2}), EPOCHS, val_outputs=outputs, fold_models=folds)
    restarted = fresh()
    before = [{k: v.clone() for k, v in m.network.state_dict().items()} for m in restarted]
    first_epoch, progress, kept_outputs, kept_folds = restore_from(Checkpoint.from_directory(tmp_path), restarted, config)
    assert first_epoch == 0  # epoch 1 comes next, with the models as built
    for model, weights in zip(restarted, before):
        for name, tensor in model.network.state_dict().items():
            torch.testing.assert_close(tensor, weights[name])
    # ... but its best so far stays: a later epoch replaces it only by beating it.
    assert progress == Progress(4, 0.9, 3, {"best_val_loss": 0.2})
    np.testing.assert_array_equal(kept_outputs, outputs)
    torch.testing.assert_close(kept_folds, folds)


def test_a_trial_handed_a_checkpoint_with_training_state_goes_on_at_the_next_epoch(tmp_path, models):
    built, config, fresh = models
    write_checkpoint(tmp_path, Progress(4, 0.9, 3, {}), EPOCHS, training_state(built, 4, 0.9, 3, {}))
    restored = fresh()
    first_epoch, progress, outputs, folds = restore_from(Checkpoint.from_directory(tmp_path), restored, config)
    assert (first_epoch, progress.best, outputs, folds) == (4, 0.9, None, None)
    for trained, model in zip(built, restored):
        for name, tensor in trained.network.state_dict().items():
            torch.testing.assert_close(model.network.state_dict()[name], tensor)


def test_a_trial_handed_a_checkpoint_cut_short_starts_afresh(tmp_path, models):
    built, config, fresh = models
    write_checkpoint(tmp_path, Progress(4, 0.9, 3, {}), EPOCHS, training_state(built, 4, 0.9, 3, {}), fold_models=[{}])
    (tmp_path / FOLD_MODELS_FILE).write_bytes(b"")
    with pytest.warns(UserWarning, match="not whole"):
        assert restore_from(Checkpoint.from_directory(tmp_path), fresh(), config) == (0, Progress(0, None, 0), None, None)
