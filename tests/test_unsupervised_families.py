"""The clustering views (``features``, ``pca``) and the mixture-prior VAE generator: they build
for the task they claim, train through the one training loop, and the cluster task ranks every
embedding by the silhouette on the same prepared features (issue 19, point 4)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from automl.tasks.cluster import ClusterTask
from automl.tasks.generate import GenerateTask
from automl.training.building import build_model
from automl.training.loop import train_epochs
from automl.training.records import Components, DataFacts
from test_unsupervised_components import registry  # noqa: F401 (the shared fixture)
from presets import UNTRACKED

# Tiny models in this process train fastest on one thread (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("one_torch_thread")

ADAM = {"name": "adam", "lr": 5e-3}


@pytest.fixture(scope="module")
def blobs():
    """Three well-separated groups in 5 standardized columns."""
    from sklearn.datasets import make_blobs
    from sklearn.preprocessing import StandardScaler

    X, labels = make_blobs(n_samples=150, centers=3, n_features=5, cluster_std=0.8, random_state=1)
    return StandardScaler().fit_transform(X).astype(np.float32), labels


def trained(registry, task, architecture: dict, loss: str, X, epochs=3, batch_size=32):
    names = {"architectures": [architecture["name"]], "losses": [loss], "optimizers": ["adam"]}
    components = Components({f: {n: registry.get(f, n).spec for n in ns} for f, ns in names.items()})
    config = {"architecture": architecture, "loss": {"name": loss}, "optimizer": ADAM, "epochs": epochs, "batch_size": batch_size}
    model = build_model(config, components, X.shape[1:], 0, "cpu", DataFacts(task.name, train_rows=len(X)), task.parameter_groups)
    history = list(train_epochs(model, X, None, epochs, batch_size, "cpu", seed=0, batch_losses=task.batch_losses,
                                loss_keys=task.loss_keys))
    return model, history


@pytest.mark.parametrize("shape", [(5,), (1, 4, 4)])
def test_features_view_embeds_the_rows_themselves_and_nothing_moves_in_training(registry, shape):
    X = np.random.default_rng(0).normal(size=(40, *shape)).astype(np.float32)
    model, history = trained(registry, ClusterTask(), {"name": "features"}, "reconstruction_mse", X)
    network = model.network.eval()
    with torch.no_grad():
        assert torch.equal(network.encode(torch.as_tensor(X)), torch.as_tensor(X).flatten(1))
        assert torch.equal(network(torch.as_tensor(X)), torch.as_tensor(X))
    assert [h["train_loss"] for h in history] == [0.0, 0.0, 0.0]  # nothing to learn: the loss is 0 throughout
    assert registry.get("architectures", "features").spec.input_kinds == ("tabular", "image")


def test_pca_view_fits_the_principal_axes_of_its_training_rows_and_its_loss_falls(registry, blobs):
    from sklearn.decomposition import PCA

    X, _ = blobs
    spec = registry.get("architectures", "pca").spec
    assert spec.tasks == ("cluster",) and spec.input_kinds == ("tabular",)
    fresh = spec.build((5,), 0, dimensions=2).eval()
    with torch.no_grad():
        before = float(torch.nn.functional.mse_loss(fresh(torch.as_tensor(X)), torch.as_tensor(X)))
    model, _ = trained(registry, ClusterTask(), {"name": "pca", "dimensions": 2}, "reconstruction_mse", X, epochs=2)
    network = model.network.eval()
    with torch.no_grad():
        codes = network.encode(torch.as_tensor(X)).numpy()
        after = float(torch.nn.functional.mse_loss(network(torch.as_tensor(X)), torch.as_tensor(X)))
    reference = PCA(2).fit_transform(X)
    np.testing.assert_allclose(np.abs(codes), np.abs(reference), atol=1e-3)  # the same axes, up to sign
    assert after < 0.5 * before

    # The saved weights carry the fitted statistics: a fresh network loads the same projection.
    loaded = spec.build((5,), 0, dimensions=2)
    loaded.load_state_dict(network.state_dict())
    with torch.no_grad():
        np.testing.assert_allclose(loaded.eval().encode(torch.as_tensor(X)).numpy(), codes, atol=1e-5)


def test_cluster_task_scores_every_embedding_on_the_features_and_the_views_recover_the_groups(registry, blobs):
    """Each candidate's clusters are scored on the same prepared features, so a squeezed
    embedding cannot win by its own silhouette; the features and pca views find the 3 blobs."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    from automl.tasks.cluster import embed

    X, labels = blobs
    X_train, X_val = X[:110], X[110:]
    task = ClusterTask()

    class Data:
        n_clusters = None

    scores = {}
    for architecture in ({"name": "features"}, {"name": "pca", "dimensions": 2},
                         {"name": "autoencoder", "latent": 2, "width": 16, "depth": 1, "activation": "relu"}):
        model, _ = trained(registry, task, architecture, "reconstruction_mse", X_train, epochs=2)
        metrics = task.evaluator(model, Data(), X_train, X_val, "cpu", seed=0)(model.network)
        scores[architecture["name"]] = metrics["val_silhouette"]
        assert set(metrics) == {"val_loss", "val_silhouette", "val_embedding_silhouette", "val_n_clusters"}
        if architecture["name"] != "autoencoder":
            assert metrics["val_n_clusters"] == 3
            kmeans = KMeans(3, n_init=4, random_state=0).fit(embed(model.network, X_train, "cpu"))
            assert adjusted_rand_score(labels, kmeans.predict(embed(model.network, X, "cpu"))) > 0.95
    # Two epochs leave the autoencoder's groups rougher; on the features it cannot score higher.
    assert max(scores["features"], scores["pca"]) >= scores["autoencoder"]


def test_a_clustering_that_sets_one_outlying_row_apart_is_not_chosen_for_it(blobs):
    """One row far out (as a pixel lit in one image becomes after standardization) gives a
    "that row against the rest" split the highest silhouette; it groups nothing. The row is scored
    as an outlier instead, and the search finds the three groups beside it."""
    from sklearn.metrics import adjusted_rand_score, silhouette_score

    from automl.tasks.cluster import best_clustering, fit_kmeans

    X, labels = blobs
    outlier = np.zeros((1, X.shape[1]), dtype=np.float32)
    outlier[0, 0] = 90.0
    rows = np.concatenate([X, outlier])
    split = fit_kmeans(rows, 2, seed=0).labels_
    assert np.bincount(split).min() == 1 and silhouette_score(rows, split) > 0.9  # what the plain silhouette prefers
    k, score, _ = best_clustering(rows, rows, None, seed=0, val_features=rows)
    found = fit_kmeans(rows, k, seed=0).labels_
    assert k == 4 and np.bincount(found).min() == 1 and score > 0.5  # three groups and the outlier on its own
    assert adjusted_rand_score(labels, found[:-1]) > 0.95
    # Asked for 2 clusters, the only split KMeans finds is the outlier against the rest: the worst score.
    assert best_clustering(rows, rows, 2, seed=0, val_features=rows)[:2] == (2, -1.0)


def test_the_refit_chooses_k_again_on_its_own_embedding_unless_the_user_fixed_it(registry, blobs):
    """The refitted network is a new embedding: the k its trial validated (here 2) need not suit
    it, so the refit chooses k by the trial's rule on the rows it trained on. A k the user fixed
    (``--n-clusters``) stays."""
    from types import SimpleNamespace

    from sklearn.metrics import adjusted_rand_score

    X, labels = blobs
    task = ClusterTask()
    model, _ = trained(registry, task, {"name": "features"}, "reconstruction_mse", X[:120])
    trial_metrics = {"best_n_clusters": 2, "val_n_clusters": 2}

    searched = SimpleNamespace(n_clusters=None, X_test=X[120:])
    metrics, _, fitted = task.test_once(model, model.network, searched, trial_metrics, X[:120], seed=0)
    assert metrics["n_clusters"] == fitted["kmeans"].n_clusters == 3
    assert adjusted_rand_score(labels[120:], fitted["kmeans"].predict(X[120:].astype(np.float64))) > 0.95

    fixed = SimpleNamespace(n_clusters=2, X_test=X[120:])
    metrics, _, fitted = task.test_once(model, model.network, fixed, trial_metrics, X[:120], seed=0)
    assert metrics["n_clusters"] == fitted["kmeans"].n_clusters == 2


def test_trials_are_scored_on_held_out_rows_when_there_are_enough():
    """Training rows flatter an embedding trained on them (a digits autoencoder: 0.208 with them,
    0.113 without), so a validation split of 200 rows or more is scored alone; a small table's
    few dozen validation rows are scored with the training rows."""
    from automl.tasks.cluster import scored_rows

    rng = np.random.default_rng(0)
    X_train = rng.normal(size=(300, 4))
    large, small = rng.normal(size=(200, 4)), rng.normal(size=(27, 4))
    assert scored_rows(X_train, large, seed=0) is large
    joined = scored_rows(X_train, small, seed=0)
    assert len(joined) == 327 and np.array_equal(joined[-27:], small)


def test_rows_set_apart_by_rare_values_do_not_outscore_the_groups(blobs):
    """Six rows, each with its own rare column lit (as rare pixels stand 18-90 standard
    deviations out after standardization): the plain silhouette prefers "those rows against the
    rest" to the three groups; in the clipped space the clusterings are ranked in, the groups win."""
    from sklearn.metrics import silhouette_score

    from automl.tasks.cluster import clustering_score, ranking_space

    X, labels = blobs
    lit = np.random.default_rng(0).choice(len(X), 6, replace=False)
    rare = np.zeros((len(X), 6), dtype=np.float32)
    rare[lit, np.arange(6)] = 40.0
    rows = np.concatenate([X, rare], axis=1)
    set_apart = np.isin(np.arange(len(X)), lit).astype(int)
    assert silhouette_score(rows, set_apart) > silhouette_score(rows, labels) + 0.3
    space = ranking_space(rows)
    assert clustering_score(space, labels) > 0.7 and clustering_score(space, set_apart) < 0.1


def test_mixture_vae_trains_on_its_elbo_with_one_optimizer_and_samples_rows(registry, blobs):
    X, _ = blobs
    spec = registry.get("architectures", "mixture_vae").spec
    assert spec.tasks == ("generate",) and spec.input_kinds == ("tabular",)
    task = GenerateTask()
    architecture = {"name": "mixture_vae", "latent": 2, "mixtures": 3, "width": 32, "depth": 1, "decoder_depth": 1,
                    "activation": "relu"}
    model, history = trained(registry, task, architecture, "adversarial_bce", X, epochs=8)
    assert len(model.optimizers) == 1  # the likelihood form: no discriminator, one optimizer
    assert history[-1]["train_loss"] < 0.7 * history[0]["train_loss"]
    rows = model.network.sample(20, torch.Generator().manual_seed(0))
    again = model.network.sample(20, torch.Generator().manual_seed(0))
    assert rows.shape == (20, 5) and torch.equal(rows, again)
    assert rows.std(0).min() > 0.1  # decoder noise: rows spread around the decoded means


def test_the_new_families_enter_the_default_spaces(registry):
    from automl.space import build_search_space

    assert {"features", "pca"} <= set(build_search_space(registry, {}, "cluster", "tabular").names("architectures"))
    assert "features" in build_search_space(registry, {}, "cluster", "image").names("architectures")
    assert "mixture_vae" in build_search_space(registry, {}, "generate", "tabular").names("architectures")


PCA_SPACE = """
epochs: 2
batch_size: 32
architectures:
  include: [pca]
  pca: {dimensions: 2}
losses:
  include: [reconstruction_mse]
optimizers:
  include: [adam]
  adam: {lr: 0.01}
"""

VAE_SPACE = """
epochs: 3
batch_size: 32
architectures:
  include: [mixture_vae]
  mixture_vae: {latent: 2, mixtures: 3, width: 32, depth: 1, decoder_depth: 1, activation: relu}
losses:
  include: [adversarial_bce]
optimizers:
  include: [adam]
  adam: {lr: 0.003}
"""


@pytest.mark.slow
def test_a_searched_pca_view_is_saved_predicted_and_refused_export_by_name(ray_session, blobs, tiny_space, tmp_path, capsys):
    import pandas as pd
    from sklearn.metrics import adjusted_rand_score

    from automl import AutoML
    from automl.cli import main

    X, labels = blobs
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(5)])
    result = AutoML(task="cluster", space=tiny_space(PCA_SPACE), num_trials=1, output=tmp_path / "run", **UNTRACKED).fit(frame)
    assert result.leaderboard.loc[0, "architecture"] == "pca" and result.test_metrics["n_clusters"] == 3
    assert adjusted_rand_score(labels, result.predict(frame)) > 0.95
    assert main(["export", str(result.artifact_dir), "-o", str(tmp_path / "export")]) == 2
    assert "cannot export a cluster model" in capsys.readouterr().err


@pytest.mark.slow
def test_a_searched_mixture_vae_samples_rows_in_each_columns_type_and_range(ray_session, tiny_space, tmp_path):
    import pandas as pd

    from automl import AutoML

    rng = np.random.default_rng(0)
    table = pd.DataFrame({"size": np.round(rng.normal(10, 2, 160), 2), "count": rng.integers(1, 9, 160),
                          "kind": rng.choice(["a", "b"], 160)})
    result = AutoML(task="generate", space=tiny_space(VAE_SPACE), num_trials=1, output=tmp_path / "run", **UNTRACKED).fit(table)
    assert result.leaderboard.loc[0, "architecture"] == "mixture_vae"
    rows = result.sample(100, seed=0)
    assert rows.dtypes.equals(table.dtypes) and set(rows["kind"]) <= {"a", "b"}
    for column in ("size", "count"):
        assert rows[column].between(table[column].min(), table[column].max()).all()
