"""The ``cluster`` task: autoencoder embeddings clustered by scikit-learn's KMeans, ranked by
the silhouette of the clustered validation embeddings; the refitted model predicts cluster ids.

k is fixed by ``n_clusters`` or searched inside each trial (2 to ``MAX_CLUSTERS``): KMeans is
fitted on the training embeddings and k chosen by the validation silhouette, so a trial's
score is that of its best k.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import torch

from automl.errors import AutoMLError
from automl.metrics import ranking_metric
from automl.predictor import Predictor
from automl.reporting import ReportPlan
from automl.trial import set_trial_threads
from automl.unsupervised.training import (
    build_unsupervised_model, embed, reconstruction_loss, refit_epochs, report_epochs, train_autoencoder_epochs,
)

MAX_CLUSTERS = 8
# Per-epoch scoring stays cheap on large tables: KMeans fits and silhouettes use at most this
# many rows (a seeded random subset); the refit's KMeans uses every row.
MAX_SCORING_ROWS = 3000


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


def _subset(rows: np.ndarray, seed: int) -> np.ndarray:
    if len(rows) <= MAX_SCORING_ROWS:
        return rows
    return rows[np.random.default_rng(seed).choice(len(rows), MAX_SCORING_ROWS, replace=False)]


def best_clustering(train_embeddings: np.ndarray, val_embeddings: np.ndarray, n_clusters: int | None, seed: int) -> tuple[int, float]:
    """``(k, validation silhouette)``: KMeans fitted on train, scored on validation."""
    train_embeddings = _subset(train_embeddings, seed)
    largest = min(MAX_CLUSTERS, len(train_embeddings) - 1, len(val_embeddings) - 1)
    candidates = [n_clusters] if n_clusters else range(2, max(largest, 2) + 1)
    scored = [
        (silhouette(val_embeddings, fit_kmeans(train_embeddings, k, seed).predict(val_embeddings), seed), k)
        for k in candidates
    ]
    score, k = max(scored, key=lambda pair: (pair[0], -pair[1]))
    return k, score


class ClusterStrategy:
    """Train, rank, refit and load autoencoder + KMeans models."""

    task = "cluster"

    def train_trial(self, config: dict, data, components, report_plan: ReportPlan) -> None:
        """The Ray Tune trainable for one autoencoder configuration."""
        from automl.trial import trial_device

        set_trial_threads()
        device = trial_device()
        seed = int(config.get("seed", 0))
        model = build_unsupervised_model(config, components, data.input_shape, device, adversarial=False,
            train_rows=len(data.X_train), input_kind=data.input_kind)

        def evaluate(network) -> dict[str, float]:
            val_loss = reconstruction_loss(network, model.loss, data.X_val, device)
            k, score = best_clustering(embed(network, data.X_train, device), embed(network, data.X_val, device), data.n_clusters, seed)
            return {"val_loss": val_loss, "val_silhouette": score, "val_n_clusters": k}

        metric, mode = ranking_metric(self.task)
        epochs = train_autoencoder_epochs(model, data.X_train, int(config["epochs"]), int(config["batch_size"]), device, seed, evaluate)
        params = sum(p.numel() for p in model.network.parameters())
        report_epochs(epochs, metric, mode, params, device, carry=("n_clusters",), plan=report_plan)

    def refit_and_test(self, best, prepared, components, artifact_dir: Path, on_epoch: Callable | None = None):
        """Retrain on train+val, cluster with the winning k, score once on test, save."""
        from automl.refit import RefitResult, save_artifact
        from automl.trial import trial_device

        config = best.config
        epochs = refit_epochs(best.metrics, config)
        k = int(best.metrics.get("best_n_clusters") or best.metrics.get("val_n_clusters"))
        seed = int(config.get("seed", 0))
        device = trial_device()
        X = np.concatenate([prepared.X_train, prepared.X_val])
        model = build_unsupervised_model(config, components, prepared.input_shape, device, adversarial=False,
            train_rows=len(X), input_kind=prepared.input_kind)
        for epoch, metrics in enumerate(train_autoencoder_epochs(model, X, epochs, int(config["batch_size"]), device, seed), start=1):
            if on_epoch:
                on_epoch(epoch, epochs, metrics)
        kmeans = fit_kmeans(embed(model.network, X, device), k, seed)
        # The one and only use of the test split.
        test_embeddings = embed(model.network, prepared.X_test, device)
        test_metrics = {
            "silhouette": silhouette(test_embeddings, kmeans.predict(test_embeddings), seed),
            "n_clusters": k,
            "reconstruction_loss": reconstruction_loss(model.network, model.loss, prepared.X_test, device),
        }
        save_artifact(artifact_dir, model.network.cpu(), config, prepared, epochs, test_metrics, extra_state={"kmeans": kmeans}, components=components)
        return RefitResult(model.network, epochs, test_metrics, artifact_dir)

    def predictor(self, network, preprocessing: dict[str, Any], info: dict) -> "ClusterPredictor":
        return ClusterPredictor(network, preprocessing["features"], preprocessing["target"], info, preprocessing["kmeans"])


class ClusterPredictor(Predictor):
    """A refitted autoencoder and its KMeans: ``predict(frame)`` returns a cluster id per row."""

    def __init__(self, network, features, target_encoder, info: dict, kmeans) -> None:
        super().__init__(network, features, target_encoder, info)
        self.kmeans = kmeans

    def embed(self, data) -> np.ndarray:
        """The autoencoder's embeddings of the rows of ``data``."""
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
