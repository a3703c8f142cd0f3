"""The ``generate`` task: GANs and autoencoder-based generators, ranked by a classifier
two-sample test on held-out real rows; the refitted model samples new rows in the original
column space.

The two-sample test: generated rows, first mapped to what a user would receive (decoded to the
original columns and encoded again, so one-hot blocks are exact and integers whole), are mixed
with as many real rows; a random forest learns to tell them apart under 2-fold cross-validation.
An out-of-fold AUC of 0.5 means it cannot: the ranking metric is ``|AUC - 0.5|``, lower better.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from automl.errors import AutoMLError
from automl.metrics import ranking_metric
from automl.predictor import Predictor
from automl.reporting import ReportPlan
from automl.trial import set_trial_threads
from automl.unsupervised.training import (
    build_unsupervised_model, generate, refit_epochs, report_epochs, train_adversarial_epochs,
)


def two_sample_test(real: np.ndarray, fake: np.ndarray, seed: int) -> dict[str, float]:
    """``{"c2st_auc", "c2st_gap"}`` of a classifier telling ``fake`` rows from ``real`` ones."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    rows = np.concatenate([real.reshape(len(real), -1), fake.reshape(len(fake), -1)])
    is_fake = np.concatenate([np.zeros(len(real)), np.ones(len(fake))])
    classifier = RandomForestClassifier(n_estimators=100, min_samples_leaf=2, random_state=seed, n_jobs=1)
    folds = StratifiedKFold(n_splits=2, shuffle=True, random_state=seed)
    scores = cross_val_predict(classifier, rows, is_fake, cv=folds, method="predict_proba")[:, 1]
    auc = float(roc_auc_score(is_fake, scores))
    return {"c2st_auc": auc, "c2st_gap": abs(auc - 0.5)}


# The test stays cheap on large tables: at most this many real rows (a seeded random subset).
MAX_TEST_ROWS = 2000


def held_out_rows(rows: np.ndarray, seed: int) -> np.ndarray:
    """The real rows a two-sample test uses: all of them, or a seeded subset of a large split."""
    if len(rows) <= MAX_TEST_ROWS:
        return rows
    return rows[np.random.default_rng(seed).choice(len(rows), MAX_TEST_ROWS, replace=False)]


def generated_like(network, column_space, real: np.ndarray, seed: int) -> np.ndarray:
    """As many generated rows as ``real`` has, snapped to the original column space."""
    fake = generate(network, len(real), seed)
    return column_space.snap(fake) if column_space is not None else fake


class GenerateStrategy:
    """Train, rank, refit and load adversarially trained generators."""

    task = "generate"

    def train_trial(self, config: dict, data, components, report_plan: ReportPlan) -> None:
        """The Ray Tune trainable for one generator configuration."""
        from automl.trial import trial_device

        set_trial_threads()
        device = trial_device()
        seed = int(config.get("seed", 0))
        model = build_unsupervised_model(config, components, data.input_shape, device, adversarial=True,
            train_rows=len(data.X_train), input_kind=data.input_kind)

        real = held_out_rows(data.X_val, seed)

        def evaluate(network) -> dict[str, float]:
            fake = generated_like(network, data.column_space, real, seed)
            return {f"val_{k}": v for k, v in two_sample_test(real, fake, seed).items()}

        metric, mode = ranking_metric(self.task)
        epochs = train_adversarial_epochs(model, data.X_train, int(config["epochs"]), int(config["batch_size"]), device, seed, evaluate)
        params = sum(p.numel() for p in model.network.parameters())
        report_epochs(epochs, metric, mode, params, device, plan=report_plan)

    def refit_and_test(self, best, prepared, components, artifact_dir: Path, on_epoch: Callable | None = None):
        """Retrain on train+val, run the two-sample test once against the test rows, save."""
        from automl.refit import RefitResult, save_artifact
        from automl.trial import trial_device

        config = best.config
        epochs = refit_epochs(best.metrics, config)
        seed = int(config.get("seed", 0))
        device = trial_device()
        X = np.concatenate([prepared.X_train, prepared.X_val])
        model = build_unsupervised_model(config, components, prepared.input_shape, device, adversarial=True,
            train_rows=len(X), input_kind=prepared.input_kind)
        for epoch, metrics in enumerate(train_adversarial_epochs(model, X, epochs, int(config["batch_size"]), device, seed), start=1):
            if on_epoch:
                on_epoch(epoch, epochs, metrics)
        # The one and only use of the test split.
        real = held_out_rows(prepared.X_test, seed)
        fake = generated_like(model.network, prepared.column_space, real, seed)
        test_metrics = two_sample_test(real, fake, seed)
        save_artifact(artifact_dir, model.network.cpu(), config, prepared, epochs, test_metrics,
                      extra_state={"column_space": prepared.column_space}, components=components)
        return RefitResult(model.network, epochs, test_metrics, artifact_dir)

    def predictor(self, network, preprocessing: dict[str, Any], info: dict) -> "GeneratorPredictor":
        return GeneratorPredictor(network, preprocessing["features"], preprocessing["target"], info, preprocessing["column_space"])


class GeneratorPredictor(Predictor):
    """A refitted generator: ``sample(n)`` returns new rows in the training data's columns."""

    def __init__(self, network, features, target_encoder, info: dict, column_space) -> None:
        super().__init__(network, features, target_encoder, info)
        self.column_space = column_space

    def sample(self, n: int, seed: int = 0) -> pd.DataFrame:
        """``n`` generated rows: numeric columns within their training range and dtype,
        categoricals among the training labels. The same seed gives the same rows."""
        if n < 1:
            raise AutoMLError(f"cannot sample {n} rows", "ask for at least 1 row")
        return self.column_space.decode(generate(self.network, n, seed))

    def predict(self, data) -> np.ndarray:
        raise AutoMLError("a generate model makes new rows, it does not predict", "use `automl sample` or Predictor.sample(n)")

    predict_proba = predict

    def predict_frame(self, data) -> pd.DataFrame:
        return self.predict(data)
