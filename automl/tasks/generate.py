"""The ``generate`` task: GANs and autoencoder-based generators, ranked by a classifier
two-sample test on held-out real rows; the refitted model samples new rows in the original
column space.

Contract for plugin authors (architectures are built with ``output_size=0``): an adversarial
``nn.Module`` with

- ``discriminator``: an ``nn.Module`` from what it judges to ``(N, 1)`` raw scores;
- ``generator_parameters()``: the parameters the generator's optimizer trains (the
  discriminator's own optimizer trains ``discriminator.parameters()``);
- ``adversarial_pair(x, noise)`` → ``(real, fake, extra)``: what the discriminator tells apart
  for a batch ``x`` of real rows, plus an optional extra generator loss (e.g. reconstruction);
- ``sample(n, noise)`` → ``(n, *input_shape)`` generated rows (``noise`` a ``torch.Generator``).

Its loss has ``discriminator_loss(real_scores, fake_scores)`` and
``generator_loss(fake_scores)``. The two optimizers, both built from the trial's optimizer
config, step in alternation (discriminator first). Regularizers apply when they declare
``generate`` in ``tasks`` (penalties to the generator's loss); batch transforms do not.

Or a likelihood-trained generator (a VAE, a flow, a mixture; ``plugins/mixture_vae.py``): no
``discriminator``, but ``generative_loss(x, noise)`` → a scalar to minimize (e.g. the negative
ELBO) and the same ``sample(n, noise)``. One optimizer trains all its parameters on that loss;
the trial's adversarial loss is built but unused. Both forms are ranked by the same test.

The two-sample test: generated rows, first mapped to what a user would receive (decoded to the
original columns and encoded again, so one-hot blocks are exact and integers whole), are mixed
with as many real rows; a random forest learns to tell them apart under 2-fold cross-validation.
An out-of-fold AUC of 0.5 means it cannot: the ranking metric is ``|AUC - 0.5|``, lower better.
An AUC below 0.5 tells the rows apart as well as its mirror image above (the classifier is
consistently wrong, e.g. about fake rows that duplicate real ones: it learned each one's twin
in the other fold as fake), so ``c2st_auc`` is the AUC folded to ``max(AUC, 1 - AUC)``:
ranked by it, lower better, a generator is never rewarded for being anti-predicted.
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


@torch.no_grad()
def generate(network: torch.nn.Module, n: int, seed: int) -> np.ndarray:
    """``n`` generated rows (encoded space), reproducible for a seed."""
    network.eval()
    return network.sample(n, torch.Generator().manual_seed(seed)).float().cpu().numpy()


def adversarial(network: torch.nn.Module) -> bool:
    """Whether a generator is trained against a discriminator (else on its own likelihood)."""
    return hasattr(network, "discriminator")


def two_sample_test(real: np.ndarray, fake: np.ndarray, seed: int) -> dict[str, float]:
    """``{"c2st_auc", "c2st_gap"}`` of a classifier telling ``fake`` rows from ``real`` ones:
    its out-of-fold AUC folded to ``max(AUC, 1 - AUC)`` (0.5 to 1), and ``|AUC - 0.5|``."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    rows = np.concatenate([real.reshape(len(real), -1), fake.reshape(len(fake), -1)])
    is_fake = np.concatenate([np.zeros(len(real)), np.ones(len(fake))])
    classifier = RandomForestClassifier(n_estimators=100, min_samples_leaf=2, random_state=seed, n_jobs=1)
    folds = StratifiedKFold(n_splits=2, shuffle=True, random_state=seed)
    scores = cross_val_predict(classifier, rows, is_fake, cv=folds, method="predict_proba")[:, 1]
    auc = float(roc_auc_score(is_fake, scores))
    # Below 0.5 the classifier tells the rows apart as well, only the wrong way round (fake rows
    # that duplicate real ones are anti-predicted out of fold): both metrics rank by |AUC - 0.5|.
    return {"c2st_auc": max(auc, 1.0 - auc), "c2st_gap": abs(auc - 0.5)}


# The test stays cheap on large tables: at most this many real rows (a seeded random subset).
MAX_TEST_ROWS = 2000


def held_out_rows(rows: np.ndarray, seed: int) -> np.ndarray:
    """The real rows a two-sample test uses: all of them, or a seeded subset of a large split."""
    return seeded_subset(rows, MAX_TEST_ROWS, seed)


def generated_like(network, column_space, real: np.ndarray, seed: int) -> np.ndarray:
    """As many generated rows as ``real`` has, snapped to the original column space."""
    fake = generate(network, len(real), seed)
    return column_space.snap(fake) if column_space is not None else fake


class GenerateTask(Task):
    """Generators: per batch one discriminator step, then one generator step (adversarial), or
    one step on the generator's own loss (likelihood-trained)."""

    name = "generate"
    metrics = directions("c2st_gap", "c2st_auc")
    default_metric = "c2st_gap"
    supervised = False
    target_kind = NO_TARGET
    makes_rows = True
    contract = "generator"
    export_refusal = "its model samples new rows, it does not predict from rows"
    export_instead = "use `automl sample` with the saved model"
    loss_keys = ("train_loss", "train_discriminator_loss")

    def parameter_groups(self, network):
        if not adversarial(network):
            return [network.parameters()]
        return [network.generator_parameters(), network.discriminator.parameters()]

    def batch_losses(self, model, inputs, targets):
        network, loss_fn = model.network, model.loss
        if not adversarial(network):
            yield 0, network.generative_loss(inputs, model.noise)
            return
        real, fake, extra = network.adversarial_pair(inputs, model.noise)
        # The discriminator learns on detached fakes: its step must not move the generator.
        yield 1, loss_fn.discriminator_loss(network.discriminator(real), network.discriminator(fake.detach()))
        g_loss = loss_fn.generator_loss(network.discriminator(fake))
        yield 0, g_loss if extra is None else g_loss + extra

    def evaluator(self, model, data, X_train, X_val, device, seed):
        real = held_out_rows(X_val, seed)

        def evaluate(network) -> dict[str, float]:
            fake = generated_like(network, data.column_space, real, seed)
            return {f"val_{k}": v for k, v in two_sample_test(real, fake, seed).items()}

        return evaluate

    def test_once(self, model, network, prepared, fit_metrics, X_fit, seed):
        # The one and only use of the test split.
        real = held_out_rows(prepared.X_test, seed)
        fake = generated_like(network, prepared.column_space, real, seed)
        return two_sample_test(real, fake, seed), {}, {"column_space": prepared.column_space}

    def predictor(self, network, preprocessing, info, member_features=None):
        return GeneratorPredictor(network, preprocessing["features"], preprocessing["target"], info, preprocessing["column_space"])


GENERATE_TASK = GenerateTask()  # what its predictor asks about predictions


class GeneratorPredictor(Predictor):
    """A refitted generator: ``sample(n)`` returns new rows in the training data's columns."""

    def __init__(self, network, features, target_encoder, info: dict, column_space) -> None:
        super().__init__(network, features, target_encoder, info, task_impl=GENERATE_TASK)
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
