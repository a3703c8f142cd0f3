"""The task interface: everything the platform needs to know about one kind of learning problem.

A task says what its trials optimize (loss inputs, one or more players), how its validation is
scored and which metric ranks (with direction), how model outputs become predictions, and how
its final model is evaluated once on the test split and loaded again. The trainable
(``automl.training.trainable``), the refit (``automl.refit``) and the predictor (``automl.predictor``) call
these methods and never branch on a task's name.

:class:`Task`'s defaults are those of a supervised task trained by one optimizer on
``loss(network(x), y)``; :mod:`automl.tasks.supervised`, :mod:`automl.tasks.cluster` and
:mod:`automl.tasks.generate` override what differs.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Mapping

import numpy as np
import torch

from automl.data.task import ONE_COLUMN, TargetProfile
from automl.errors import AutoMLError
from automl.training.loop import supervised_losses


def seeded_subset(rows: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """``rows``, or a seeded random ``limit`` of them when there are more (cheap scoring on large splits)."""
    if len(rows) <= limit:
        return rows
    return rows[np.random.default_rng(seed).choice(len(rows), limit, replace=False)]


class Task:
    """One task. Subclass it, set the class attributes, override what differs.

    ``name``: the ``--task`` value. ``metrics``: every validation metric the task computes,
    mapped to ``"max"`` or ``"min"``; ``default_metric`` ranks unless ``--metric`` names
    another. ``supervised``: trials train on targets (batch transforms such as mixup apply).
    ``carry``: validation metrics (beyond the ranking one) kept as ``best_<key>`` at the best
    epoch, in the trial's record (e.g. the cluster count it validated). ``loss_keys``: the per-epoch training loss
    of each optimizer, in optimizer order.

    What the rest of the platform asks a task instead of testing its name:

    - ``target_kind``: its target is no column (``NO_TARGET``: every column is a feature),
      one column (``ONE_COLUMN``) or several 0/1 columns (``SEVERAL_COLUMNS``, ``--target
      a,b,c``); the constants are in :mod:`automl.data.task`.
    - ``is_classification``: one column of class labels, class indices to the network: splits
      and folds are stratified, ``--class-weights`` applies, ensembles average probabilities.
    - ``infers(profile)`` / ``check_target(profile)``: whether a search without ``--task`` may
      pick it for a target column, and whether the column fits it when ``--task`` names it.
    - ``score(outputs, targets, target_scale)``: the validation and test metrics of outputs.
    - ``output_size(target_size)``: how many outputs its networks have for a target encoded in
      ``target_size`` values (the class count, or 1 for a value); by default as many.
    - ``ensembles``, ``exportable``, ``makes_rows`` (its model samples new rows: preprocessing
      must map rows back, and it is neither served nor exported), ``has_probabilities``,
      ``output_activation`` (what an exported module applies to the outputs);
      ``export_refusal`` and ``export_instead``: why ``automl export`` refuses a task that is
      not ``exportable``, and what to use instead.
    - ``prediction_columns(outputs, target_encoder, target)``: the columns of ``automl
      predict``'s output (by default the prediction, and class probabilities where it has them).
    - ``options``: the search options of :data:`automl.options.TASK_OPTIONS` declared as used
      by some tasks only (``OptionUse.some_tasks``) that this task uses.
    - ``takes_unmarked_components``: components that name no tasks are offered for it.
      ``takes_components_of``: the architectures and regularizers that claim any of these tasks
      are offered for it too (a task from another package that shares their outputs, e.g. one
      value per row, names ``("regression",)``); losses are not, a task brings its own.
    - ``portfolio_group``: its key in ``search_spaces/portfolio.yaml`` (default: its name).
    - ``sklearn_target_type``: the ``sklearn.utils.multiclass.type_of_target`` it learns,
      by which the scikit-learn estimators (:mod:`automl.sklearn`) pick it.
    - ``contract``: what its architectures and losses must do, which ``automl plugins check``
      runs (:mod:`automl.plugin_checks`): ``"outputs"`` (``(N, output_size)`` outputs, a loss of
      outputs and targets), ``"autoencoder"`` (:mod:`automl.tasks.cluster`) or ``"generator"``
      (:mod:`automl.tasks.generate`); ``contract_output_size``: the output size it checks with.
    """

    name: str = ""
    metrics: Mapping[str, str] = {}
    default_metric: str = ""
    supervised: bool = True
    carry: tuple[str, ...] = ()
    loss_keys: tuple[str, ...] = ("train_loss",)
    # Whether an ensemble of its models can be selected and refitted (``--ensemble``).
    ensembles: bool = False
    # Whether ``probabilities`` gives class probabilities (``predict_proba``).
    has_probabilities: bool = False
    target_kind: str = ONE_COLUMN
    is_classification: bool = False
    exportable: bool = False
    makes_rows: bool = False
    # "softmax", "sigmoid", or None: outputs are values in the target's units.
    output_activation: str | None = None
    # Why ``automl export`` refuses it when it is not ``exportable``, and what to use instead.
    export_refusal: str = "export covers models that map rows to class scores or values"
    export_instead: str = "use `automl predict` with the saved model"
    options: frozenset[str] = frozenset()
    takes_unmarked_components: bool = False
    takes_components_of: tuple[str, ...] = ()
    sklearn_target_type: str | None = None
    contract: str = "outputs"
    # The output size its architectures are built with in the contract checks (0: none).
    contract_output_size: int = 0

    @property
    def portfolio_group(self) -> str:
        """Its key in ``search_spaces/portfolio.yaml``; a subclass may set another as a class attribute."""
        return self.name

    # -- the target ------------------------------------------------------------------------

    def output_size(self, target_size: int) -> int:
        """The networks' output size for a target encoded in ``target_size`` values (the class
        count, the label count, or 1 for a value; 0 without a target)."""
        return target_size

    def infers(self, profile: TargetProfile) -> bool:
        """Whether a search without ``--task`` picks this task for a target column like ``profile``."""
        return False

    @property
    def can_be_inferred(self) -> bool:
        """Whether a search without ``--task`` may pick this task at all (it overrides :meth:`infers`)."""
        return type(self).infers is not Task.infers

    def check_target(self, profile: TargetProfile) -> None:
        """Raise :class:`AutoMLError` when ``--task`` names this task for a column it cannot learn."""

    def score(self, outputs: np.ndarray, targets: np.ndarray, target_scale: float = 1.0) -> dict[str, float]:
        """The metrics of model outputs against encoded targets (supervised tasks)."""
        raise NotImplementedError

    def ranking(self, metric: str | None = None) -> tuple[str, str]:
        """``(metric, "max" | "min")`` that ranks trials: ``metric`` if given, else the default."""
        metric = metric or self.default_metric
        if metric not in self.metrics:
            raise AutoMLError(
                f"task {self.name} has no metric '{metric}'",
                f"use --metric with one of: {', '.join(self.metrics)}",
            )
        return metric, self.metrics[metric]

    # -- training --------------------------------------------------------------------------

    def parameter_groups(self, network: torch.nn.Module) -> list:
        """The parameters of each optimizer, in optimizer order (one optimizer by default)."""
        return [network.parameters()]

    def batch_losses(self, model, inputs: torch.Tensor, targets) -> Iterator[tuple[int, torch.Tensor]]:
        """Yield ``(optimizer index, loss)`` for one batch; the loop steps each optimizer on its
        loss before asking for the next, so a later loss sees the earlier update."""
        return supervised_losses(model, inputs, targets)

    def evaluator(self, model, data, X_train: np.ndarray, X_val: np.ndarray, device, seed: int) -> Callable[[torch.nn.Module], dict]:
        """``evaluate(network) -> {"val_<metric>": value, ...}`` on the validation split."""
        raise NotImplementedError

    def validation_outputs(self, network: torch.nn.Module, X_val: np.ndarray, device) -> np.ndarray | None:
        """Validation outputs kept for ensemble selection (``None``: the task keeps none)."""
        return None

    # -- the final model -------------------------------------------------------------------

    def test_once(self, model, network: torch.nn.Module, prepared, fit_metrics: Mapping[str, Any], X_fit: np.ndarray,
                  seed: int) -> tuple[dict, dict, dict]:
        """Evaluate the refitted ``network`` once on ``prepared.X_test``: ``(test metrics, what the
        report shows of the test predictions, fitted state saved with the artifact)``.
        ``fit_metrics`` are the winning trial's metrics; ``X_fit`` the rows the refit trained on."""
        raise NotImplementedError

    def predictor(self, network: torch.nn.Module, preprocessing: dict, info: dict, member_features: list | None = None):
        """The :class:`automl.predictor.Predictor` of a loaded artifact."""
        from automl.predictor import Predictor

        return Predictor(network, preprocessing["features"], preprocessing["target"], info, member_features, self)

    # -- predictions -----------------------------------------------------------------------

    def predictions(self, outputs: np.ndarray, target_encoder) -> np.ndarray:
        """Model outputs as predictions in the target's own labels or units."""
        return target_encoder.decode(outputs)

    def probabilities(self, outputs: np.ndarray) -> np.ndarray:
        """Model outputs as class probabilities (tasks with ``has_probabilities``)."""
        raise NotImplementedError

    def prediction_columns(self, outputs: np.ndarray, target_encoder, target: str) -> dict[str, np.ndarray]:
        """The columns of a prediction table (``automl predict``), by name: ``predicted_<target>``
        (one ``predicted_<label>`` per label for several label columns), then one
        ``probability_<class>`` per class where the task has probabilities."""
        predictions = self.predictions(outputs, target_encoder)
        if predictions.ndim == 2:  # one column per label
            columns = {f"predicted_{label}": predictions[:, i] for i, label in enumerate(target_encoder.classes_)}
        else:
            columns = {f"predicted_{target}": predictions}
        if self.has_probabilities:
            probabilities = self.probabilities(outputs)
            columns.update({f"probability_{label}": probabilities[:, i] for i, label in enumerate(target_encoder.classes_)})
        return columns
