"""The ``cluster`` task: embeddings (an autoencoder's, or fixed views of the features such as
``features`` and ``pca``) clustered by scikit-learn's KMeans, ranked by the silhouette of the
validation rows' clusters; the refitted model predicts cluster ids.

Contract for plugin authors (architectures are built with ``output_size=0``): an autoencoder
``nn.Module`` with ``forward(x)`` → the reconstruction of ``x`` (same shape) and ``encode(x)``
→ ``(N, latent)`` embeddings, which KMeans clusters. Its loss is
``loss(reconstruction, x) -> scalar``. Regularizers apply when they declare ``cluster`` in
``tasks``; model transforms, penalties and after-backward steps are honoured, batch transforms
are not (there is no target).

k is fixed by ``n_clusters`` or searched inside each trial (2 to ``MAX_CLUSTERS``): KMeans is
fitted on the training embeddings and k chosen by the validation silhouette, so a trial's
score is that of its best k. The refit, a new embedding, chooses its k again the same way.

The silhouette that chooses k and ranks trials is measured on the prepared features
(standardized numbers, one-hot blocks) of the validation rows (with training rows on small
tables, see ``scored_rows``), whatever space the clusters were found in. Silhouettes of different embedding spaces do not compare: on wine a 2-D autoencoder
embedding scored 0.78 with k=2 (ARI 0.40 against the cultivars) where the features themselves
scored 0.27 with k=3 (ARI 0.90), so ranking each embedding in its own space picks the
squeezed one. Measured in one space, an embedding wins by grouping the rows better, not by
being smaller. The silhouette inside each embedding is kept as ``embedding_silhouette``
(``--metric embedding_silhouette`` ranks by it, as before).

A cluster of under ``MIN_CLUSTER_SHARE`` of the scored rows (or of 1 row) is a group of
outliers, not a cluster: its rows count 0 in the silhouette (as scikit-learn counts a lone row's)
and are no other row's nearest cluster, and a clustering needs two real clusters to score above
-1. Otherwise setting one far row apart earns a high silhouette without grouping anything: on
digits (standardized pixels, where a pixel lit in one image only gives that image a coordinate of
90) an autoencoder's k=2 split of 1,796 rows against 1 scored 0.86 and ranked first, where every
clustering with real groups scored 0.10-0.13; its ARI against the digits was 0.00.

For the same reason the space is clipped first: each column to the ``[1 %, 99 %]`` quantiles of
the rows scored (``ranking_space``). A rare value cannot then decide between clusterings. On
digits the rarest pixels stand 18-90 standard deviations out, and autoencoders whose k=2 split
set apart up to 6 % of the images by such pixels (ARI 0.00) outscored every clustering of the
digits (0.29 and 0.63 against at most 0.15).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from automl.data.task import NO_TARGET
from automl.errors import AutoMLError
from automl.metrics import directions
from automl.predictor import Predictor
from automl.tasks.base import Task, seeded_subset

MAX_CLUSTERS = 8
# Per-epoch scoring stays cheap on large tables: KMeans fits and silhouettes use at most this
# many rows (a seeded random subset); the refit's KMeans uses every row.
MAX_SCORING_ROWS = 3000
MIN_CLUSTER_SHARE = 0.01
MIN_HELD_OUT_ROWS = 200
RANKING_CLIP_QUANTILE = 0.01


def fit_kmeans(embeddings: np.ndarray, k: int, seed: int):
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=k, n_init=4, random_state=seed).fit(embeddings)


def silhouette(embeddings: np.ndarray, labels: np.ndarray, seed: int = 0) -> float:
    """Silhouette of a labelling; -1 (the worst score) when it has fewer than 2 clusters."""
    from sklearn.metrics import silhouette_score

    found = len(np.unique(labels))
    if found < 2 or found >= len(labels):
        return -1.0
    sample_size = MAX_SCORING_ROWS if len(labels) > MAX_SCORING_ROWS else None
    return float(silhouette_score(embeddings, labels, sample_size=sample_size, random_state=seed))


def ranking_space(rows: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """``rows`` flattened, each column clipped to its ``[1 %, 99 %]`` quantiles in ``reference``
    (default ``rows``): the space in which the silhouette ranks clusterings."""
    from automl.data.preprocess import QuantileClipper

    flat_rows = flat(rows)
    return QuantileClipper(RANKING_CLIP_QUANTILE).fit(flat_rows if reference is None else flat(reference)).transform(flat_rows)


def clustering_score(rows: np.ndarray, labels: np.ndarray, seed: int = 0) -> float:
    """The silhouette of a labelling of ``rows``, its clusters of under ``MIN_CLUSTER_SHARE`` of
    the rows scored as outliers (see the module docstring); -1 with fewer than 2 other clusters."""
    sizes = np.bincount(labels)
    kept = sizes[labels] >= max(2, int(np.ceil(MIN_CLUSTER_SHARE * len(labels))))
    if len(np.unique(labels[kept])) < 2:
        return -1.0
    return silhouette(rows[kept], labels[kept], seed) * float(kept.mean())


def flat(rows: np.ndarray) -> np.ndarray:
    """Rows as ``(N, values)`` float64 (images flattened), the space the silhouette ranks in."""
    return rows.reshape(len(rows), -1).astype(np.float64)


def best_clustering(train_embeddings: np.ndarray, val_embeddings: np.ndarray, n_clusters: int | None, seed: int,
                    val_features: np.ndarray | None = None) -> tuple[int, float, float]:
    """``(k, silhouette, embedding silhouette)`` of the best k: KMeans fitted on the train
    embeddings, the validation rows' clusters scored on ``val_features`` (the prepared features;
    the embeddings themselves when ``None``) and, for the record, in the embedding."""
    train_embeddings = seeded_subset(train_embeddings, MAX_SCORING_ROWS, seed)
    space = val_embeddings if val_features is None else flat(val_features)
    largest = min(MAX_CLUSTERS, len(train_embeddings) - 1, len(val_embeddings) - 1)
    candidates = [n_clusters] if n_clusters else range(2, max(largest, 2) + 1)
    labels = {k: fit_kmeans(train_embeddings, k, seed).predict(val_embeddings) for k in candidates}
    scored = [(clustering_score(space, labels[k], seed), k) for k in candidates]
    score, k = max(scored, key=lambda pair: (pair[0], -pair[1]))
    return k, score, silhouette(val_embeddings, labels[k], seed)


def scored_rows(X_train: np.ndarray, X_val: np.ndarray, seed: int) -> np.ndarray:
    """The rows a trial's clusterings are scored on: the validation rows alone when there are
    ``MIN_HELD_OUT_ROWS`` of them, else with (a seeded subset of) the training rows.

    Rows an autoencoder was trained on flatter it: on digits a winner's k=2 clustering scored
    0.208 on training and validation rows (ARI 0.00 on every row), the same network 0.113 on its
    validation rows alone, where the pca view scored 0.141 and 0.147 (ARI 0.45). A small table's
    validation split (27 rows on wine) is too few rows to tell k=3 from k=4, so there the
    training rows join it: no label is involved and the test split stays out."""
    if len(X_val) >= MIN_HELD_OUT_ROWS:
        return X_val
    return np.concatenate([seeded_subset(X_train, MAX_SCORING_ROWS, seed + 1), X_val])


@torch.no_grad()
def embed(network: torch.nn.Module, X: np.ndarray, device, batch_size: int = 1024) -> np.ndarray:
    """An autoencoder's embeddings of ``X`` as a float64 array (for scikit-learn)."""
    network.eval()
    parts = [network.encode(torch.as_tensor(X[i : i + batch_size], device=device)).cpu().numpy() for i in range(0, len(X), batch_size)]
    return np.concatenate(parts).astype(np.float64)


@torch.no_grad()
def reconstruction_loss(network: torch.nn.Module, loss, X: np.ndarray, device, batch_size: int = 1024) -> float:
    """An autoencoder's mean loss on ``X``, in batches."""
    network.eval()
    total = 0.0
    for start in range(0, len(X), batch_size):
        batch = torch.as_tensor(X[start : start + batch_size], device=device)
        total += float(loss(network(batch), batch)) * len(batch)
    return total / max(len(X), 1)


class ClusterTask(Task):
    """Embeddings trained on ``loss(network(x), x)``, clustered by KMeans, scored on the features."""

    name = "cluster"
    metrics = directions("silhouette", "embedding_silhouette", "loss")
    default_metric = "silhouette"
    supervised = False
    carry = ("n_clusters",)
    target_kind = NO_TARGET
    options = frozenset({"n_clusters"})
    contract = "autoencoder"
    export_refusal = "its clusters come from a fitted KMeans, which the exported module does not hold"
    export_instead = "use `automl predict` with the saved model"

    def batch_losses(self, model, inputs, targets):
        yield 0, model.loss(model.network(inputs), inputs)

    def evaluator(self, model, data, X_train, X_val, device, seed):
        scored = scored_rows(X_train, X_val, seed)
        space = ranking_space(scored)

        def evaluate(network) -> dict[str, float]:
            val_loss = reconstruction_loss(network, model.loss, X_val, device)
            k, score, own = best_clustering(embed(network, X_train, device), embed(network, scored, device), data.n_clusters,
                                            seed, val_features=space)
            return {"val_loss": val_loss, "val_silhouette": score, "val_embedding_silhouette": own, "val_n_clusters": k}

        return evaluate

    def test_once(self, model, network, prepared, fit_metrics, X_fit, seed):
        """KMeans on the train+val embeddings, then the test silhouette.

        k is chosen again, by the trial's rule, on the rows the refit trained on (unless the user
        fixed it): the refitted network is a new embedding, and the trial's k need not suit it.
        On digits a winner validated k=2 at 0.21, and its refit's k=2 set 6 rows against 1,791."""
        device = next(network.parameters()).device
        fit_embeddings = embed(network, X_fit, device)
        scored = seeded_subset(X_fit, MAX_SCORING_ROWS, seed + 1)
        k, _, _ = best_clustering(fit_embeddings, embed(network, scored, device), prepared.n_clusters, seed,
                                  val_features=ranking_space(scored))
        kmeans = fit_kmeans(fit_embeddings, k, seed)
        # The one and only use of the test split.
        test_embeddings = embed(network, prepared.X_test, device)
        test_labels = kmeans.predict(test_embeddings)
        test_metrics = {
            "silhouette": clustering_score(ranking_space(prepared.X_test, X_fit), test_labels, seed),
            "embedding_silhouette": silhouette(test_embeddings, test_labels, seed),
            "n_clusters": k,
            "reconstruction_loss": reconstruction_loss(network, model.loss, prepared.X_test, device),
        }
        return test_metrics, {}, {"kmeans": kmeans}

    def predictor(self, network, preprocessing, info, member_features=None):
        return ClusterPredictor(network, preprocessing["features"], preprocessing["target"], info, preprocessing["kmeans"])


CLUSTER_TASK = ClusterTask()  # what its predictor asks about predictions


class ClusterPredictor(Predictor):
    """A refitted embedding and its KMeans: ``predict(frame)`` returns a cluster id per row."""

    def __init__(self, network, features, target_encoder, info: dict, kmeans) -> None:
        super().__init__(network, features, target_encoder, info, task_impl=CLUSTER_TASK)
        self.kmeans = kmeans

    def embed(self, data) -> np.ndarray:
        """The embeddings of the rows of ``data``."""
        frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
        matrix = self.features.transform(frame).reshape((len(frame), *self.info["input_shape"]))
        return embed(self.network, matrix, torch.device("cpu"))

    def predict(self, data) -> np.ndarray:
        """Cluster ids (0 .. k-1) of the rows of ``data``."""
        return self.kmeans.predict(self.embed(data)).astype(np.int64)

    def predict_proba(self, data) -> np.ndarray:
        raise AutoMLError("a cluster model has no class probabilities", "use predict for cluster ids")

    @property
    def classes_(self) -> np.ndarray:
        return np.arange(self.kmeans.n_clusters)

    def predict_frame(self, data) -> pd.DataFrame:
        return pd.DataFrame({"cluster": self.predict(data)})
