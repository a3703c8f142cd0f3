"""The unsupervised tasks, ``cluster`` and ``generate``: how their models train, are ranked,
refitted, tested and used. One strategy object per task, chosen here, in one place; the
supervised path (``automl/trial.py``) is untouched and the trial, refit and predictor stages
hand over to the strategy when :func:`task_strategy` returns one.

Contracts for plugin authors (architectures are built with ``output_size=0``):

``cluster`` — an autoencoder ``nn.Module`` with

- ``forward(x)`` → the reconstruction of ``x``, same shape;
- ``encode(x)`` → ``(N, latent)`` embeddings, which scikit-learn's KMeans clusters.

  Its loss is ``loss(reconstruction, x) -> scalar``. Trials rank by the silhouette of the
  clustered validation embeddings (k searched from 2 to 8 per trial, or fixed by
  ``n_clusters``); ``predict`` returns cluster ids.

``generate`` — an adversarial ``nn.Module`` with

- ``discriminator``: an ``nn.Module`` from what it judges to ``(N, 1)`` raw scores;
- ``generator_parameters()``: the parameters the generator's optimizer trains (the
  discriminator's own optimizer trains ``discriminator.parameters()``);
- ``adversarial_pair(x, noise)`` → ``(real, fake, extra)``: what the discriminator tells apart
  for a batch ``x`` of real rows, plus an optional extra generator loss (e.g. reconstruction);
- ``sample(n, noise)`` → ``(n, *input_shape)`` generated rows (``noise`` a ``torch.Generator``).

  Its loss has ``discriminator_loss(real_scores, fake_scores)`` and
  ``generator_loss(fake_scores)``. The two optimizers, both built from the trial's optimizer
  config, step in alternation. Trials rank by a classifier two-sample test: a random forest
  tries to tell generated rows from held-out real ones; ``|AUC - 0.5|``, lower is better.
  Samples come back in the original columns (``automl sample``).

Regularizers apply to these tasks only when they declare them in ``tasks``; model transforms,
penalties and after-backward steps are honoured, batch transforms are not (there is no target).
"""

from __future__ import annotations

from typing import Any

from automl.components import UNSUPERVISED_TASKS


def task_strategy(task: str) -> Any | None:
    """The strategy object for an unsupervised task, or ``None`` for the supervised ones."""
    if task not in UNSUPERVISED_TASKS:
        return None
    if task == "cluster":
        from automl.unsupervised.cluster import ClusterStrategy

        return ClusterStrategy()
    from automl.unsupervised.generate import GenerateStrategy

    return GenerateStrategy()
