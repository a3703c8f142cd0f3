"""End to end on Ray Tune: clustering recovers known groups, generation keeps each column's
type and range, and the CLI's `sample` and `predict` serve the saved models."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from serve_helpers import post, serving

from automl import AutoML, AutoMLError
from automl.cli import main
from presets import UNTRACKED, ONE_TRIAL_AT_A_TIME

CLUSTER_SPACE = """
epochs: 6
batch_size: 32
architectures:
  include: [autoencoder]
  autoencoder: {latent: 2, width: 32, depth: 1, activation: relu}
losses:
  include: [reconstruction_mse]
optimizers:
  include: [adam]
  adam: {lr: 0.01}
"""

GENERATE_SPACE = """
epochs: 4
batch_size: 32
architectures:
  include: [gan, adversarial_autoencoder]
  gan: {latent: 8, width: 64, depth: 2}
  adversarial_autoencoder: {latent: 4, width: 64, depth: 1}
losses:
  include: [adversarial_bce, adversarial_hinge]
optimizers:
  include: [adam]
  adam: {lr: 0.002, beta1: 0.5}
"""


@pytest.fixture(scope="module")
def blobs():
    from sklearn.datasets import make_blobs

    X, labels = make_blobs(n_samples=300, centers=3, n_features=4, cluster_std=1.0, random_state=0)
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(4)]), labels


@pytest.fixture(scope="module")
def mixed_table() -> pd.DataFrame:
    """Floats, integers, booleans and a categorical, with known ranges."""
    rng = np.random.default_rng(0)
    n = 240
    group = rng.choice(["north", "south", "east"], n)
    return pd.DataFrame({
        "temperature": np.round(rng.normal(20, 5, n), 2),
        "visitors": rng.integers(3, 40, n),
        "open": rng.random(n) < 0.7,
        "region": group,
    })


@pytest.mark.slow
def test_cluster_search_recovers_known_groups_and_predict_returns_cluster_ids(ray_session, blobs, tiny_space, tmp_path, capsys):
    from sklearn.metrics import adjusted_rand_score

    frame, labels = blobs
    result = AutoML(task="cluster", space=tiny_space(CLUSTER_SPACE), num_trials=2, output=tmp_path / "run", **UNTRACKED,
                    **ONE_TRIAL_AT_A_TIME).fit(frame)
    assert result.metric == "silhouette"
    assert result.leaderboard.loc[0, "architecture"] == "autoencoder"
    assert result.test_metrics["n_clusters"] == 3  # k searched (2..8) by validation silhouette
    predicted = result.predict(frame)
    assert adjusted_rand_score(labels, predicted) >= 0.9

    rows = tmp_path / "rows.csv"
    frame.to_csv(rows, index=False)
    assert main(["predict", str(result.artifact_dir), str(rows), "-o", str(tmp_path / "clusters.csv")]) == 0
    clusters = pd.read_csv(tmp_path / "clusters.csv")
    assert list(clusters.columns) == ["cluster"] and (clusters["cluster"].to_numpy() == predicted).all()
    assert main(["sample", str(result.artifact_dir), "-n", "3"]) == 2  # a cluster model cannot sample
    assert "cannot sample" in capsys.readouterr().err

    with serving(result.artifact_dir) as url:  # served like a table model: cluster ids per row
        status, answer = post(url, json.loads(frame.head(10).to_json(orient="records")))
    assert status == 200 and answer["predictions"] == predicted[:10].tolist() and "probabilities" not in answer
    assert main(["export", str(result.artifact_dir), "-o", str(tmp_path / "export")]) == 2
    assert "cannot export a cluster model" in capsys.readouterr().err


@pytest.mark.slow
def test_generate_search_samples_rows_that_keep_each_column_type_and_range(ray_session, mixed_table, tiny_space, tmp_path, capsys):
    result = AutoML(task="generate", space=tiny_space(GENERATE_SPACE), num_trials=2, output=tmp_path / "run", **UNTRACKED,
                    **ONE_TRIAL_AT_A_TIME).fit(mixed_table)
    assert result.metric == "c2st_gap"
    assert set(result.leaderboard["architecture"]) <= {"gan", "adversarial_autoencoder"}
    assert 0.0 <= result.test_metrics["c2st_gap"] <= 0.5
    assert result.leaderboard["val_c2st_gap"].is_monotonic_increasing  # lower gap ranks higher

    rows = result.sample(300, seed=1)
    assert list(rows.columns) == list(mixed_table.columns)
    assert rows.dtypes.equals(mixed_table.dtypes)
    for column in ("temperature", "visitors"):
        assert rows[column].between(mixed_table[column].min(), mixed_table[column].max()).all()
    assert set(rows["region"]) <= set(mixed_table["region"])
    pd.testing.assert_frame_equal(result.sample(50, seed=3), result.sample(50, seed=3))

    out = tmp_path / "generated.csv"
    assert main(["sample", str(result.artifact_dir), "-n", "25", "-o", str(out)]) == 0
    written = pd.read_csv(out)
    assert len(written) == 25 and list(written.columns) == list(mixed_table.columns)
    assert pd.api.types.is_integer_dtype(written["visitors"]) and pd.api.types.is_bool_dtype(written["open"])
    assert written["temperature"].between(mixed_table["temperature"].min(), mixed_table["temperature"].max()).all()

    table = tmp_path / "table.csv"
    mixed_table.to_csv(table, index=False)
    capsys.readouterr()
    assert main(["predict", str(result.artifact_dir), str(table)]) == 2  # a generator does not predict
    assert "automl sample" in capsys.readouterr().err
    assert main(["serve", str(result.artifact_dir), "--port", "0"]) == 2
    assert "generate model" in capsys.readouterr().err
    assert main(["export", str(result.artifact_dir), "-o", str(tmp_path / "export")]) == 2
    assert "cannot export a generate model" in capsys.readouterr().err


def test_n_clusters_is_refused_outside_the_cluster_task():
    with pytest.raises(AutoMLError, match="n_clusters"):
        AutoML(task="generate", n_clusters=3)
