"""The catalogue as users meet it: `automl plugins`, the shipped search spaces, and searches that
use early stopping and CNNs on images end to end (Ray Tune, leaderboard, refit, predict)."""

from __future__ import annotations

import pytest
import yaml

from automl.cli import main
from automl.registry import load_registry
from automl.space import build_search_space, load_space_file
from presets import HOLDOUT_NO_ENSEMBLE, UNTRACKED

CATALOGUE = {
    "architecture": ["mlp", "cnn2d", "cnn1d", "rnn", "lstm", "gru", "transformer", "ft_transformer",
                     "fcn", "resnet1d", "inception_time"],
    "loss": ["cross_entropy", "focal", "mse", "mae", "huber"],
    "optimizer": ["sgd", "adam", "adamw", "rmsprop", "adagrad"],
    "regularizer": ["dropout", "l1", "l2", "gradient_clipping", "early_stopping", "initialization",
                    "image_augment", "sequence_augment", "window_warp", "gaussian_noise", "mixup"],
}


def test_automl_plugins_lists_every_catalogue_component(capsys):
    assert main(["plugins"]) == 0
    rows = {tuple(line.split()[:2]) for line in capsys.readouterr().out.splitlines()[1:]}
    missing = [(family, name) for family, names in CATALOGUE.items() for name in names if (family, name) not in rows]
    assert not missing


@pytest.mark.parametrize("space,kind,architectures", [
    ("image", "image", {"cnn2d", "resnet"}),
    ("sequence", "sequence", {"fcn", "resnet1d", "inception_time", "cnn1d", "rnn", "lstm", "gru", "transformer"}),
    ("text", "text", {"lstm", "gru", "transformer"}),
])
def test_shipped_search_spaces_resolve_for_their_input_kind(space, kind, architectures):
    spec, source = load_space_file(space)
    resolved = build_search_space(load_registry(), spec, "multiclass", kind, source)
    assert set(resolved.names("architectures")) == architectures
    assert "initialization" in resolved.names("regularizers")


def test_search_with_early_stopping_says_so_on_the_leaderboard(ray_session, blobs_frame, tiny_space, tmp_path):
    from automl.api import AutoML

    space = tiny_space("""
epochs: 8
batch_size: 32
architectures: {include: [mlp], mlp: {depth: 1, width: 8, normalization: none}}
losses: {include: [cross_entropy]}
optimizers: {include: [sgd], sgd: {lr: 1.0e-9, momentum: 0.0, schedule: constant, warmup: 0.0}}
regularizers: {include: [early_stopping], early_stopping: {enabled: true, patience: 2}}
""")
    result = AutoML(target="species", space=space, num_trials=1, scheduler="fifo", output=tmp_path / "run",
                    **HOLDOUT_NO_ENSEMBLE, **UNTRACKED).fit(blobs_frame)
    row = result.leaderboard.iloc[0]
    assert row["status"] == "early stopping: no val_accuracy improvement in 2 epochs"
    assert row["epochs_run"] == 3


@pytest.mark.slow
def test_digits_as_images_search_trains_a_cnn_and_predicts(ray_session, tmp_path):
    """The image space on digits read as 1×8×8 runs through search, refit and prediction."""
    from automl.api import AutoML
    from automl.data.load import load_builtin

    spec, _ = load_space_file("image")
    spec.update(epochs=2, batch_size=64)
    spec["architectures"]["include"] = ["cnn2d"]
    spec["architectures"]["cnn2d"].update(blocks=2, channels=16)
    path = tmp_path / "image-tiny.yaml"
    path.write_text(yaml.safe_dump(spec))
    result = AutoML(space=path, num_trials=1, image_shape=(1, 8, 8), scheduler="fifo", output=tmp_path / "run",
                    **HOLDOUT_NO_ENSEMBLE, **UNTRACKED).fit("digits")
    assert result.leaderboard.loc[0, "architecture"] == "cnn2d"
    assert result.data_report["input_kind"] == "image"
    assert result.test_metrics["accuracy"] > 0.5
    digits = load_builtin("digits").head(5)
    predicted = result.predict(digits.drop(columns="target"))  # pixel columns in, digit labels out
    assert len(predicted) == 5 and set(predicted) <= set(range(10))
