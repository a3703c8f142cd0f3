"""The supervised tasks: ``binary`` and ``multiclass`` classification and ``regression``.

Targets are encoded by :class:`automl.data.preprocess.TargetEncoder` (class indices, or values
standardized on the training split); the loss takes the network's outputs and those targets.
"""

from __future__ import annotations

import numpy as np
import torch

from automl.data.task import SEVERAL_COLUMNS, TargetProfile
from automl.errors import AutoMLError
from automl.metrics import classification_scores, directions, multilabel_scores, regression_scores
from automl.tasks.base import Task
from automl.training.loop import predict_outputs, validation_metrics


class SupervisedTask(Task):
    """What classification and regression share: validation and test scores of the outputs."""

    supervised = True
    ensembles = True
    exportable = True
    takes_unmarked_components = True
    # --test-data, --group-column, --time-column, --input-kind, --validation, --final-model, --ensemble
    options = frozenset({"test_data", "group_column", "time_column", "input_kind", "validation", "final_model", "ensemble"})

    def evaluator(self, model, data, X_train, X_val, device, seed):
        return validation_metrics(self.score, X_val, data.y_val, model.loss, data.target_scale, device)

    def validation_outputs(self, network, X_val, device):
        return predict_outputs(network, X_val, device)

    def test_once(self, model, network, prepared, fit_metrics, X_fit, seed):
        device = next(network.parameters()).device
        # The one and only use of the test split.
        outputs = predict_outputs(network, prepared.X_test, device)
        test_metrics = self.score(outputs, prepared.y_test, getattr(prepared.target_encoder, "std_", 1.0))
        # Kept from this same evaluation for the report's confusion matrix or residual plot.
        return test_metrics, self.describe_test_predictions(prepared, outputs), {}


class ClassificationTask(SupervisedTask):
    """Class indices as targets, logits as outputs; ranked by validation accuracy.

    ``n_classes``: the number of classes it takes (``None``: any number); a search without
    ``--task`` picks it for a column of labels (see :class:`automl.data.task.TargetProfile`)
    with that many classes, or with any other number when ``None``."""

    metrics = directions("accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "log_loss")
    default_metric = "accuracy"
    has_probabilities = True
    is_classification = True
    output_activation = "softmax"
    portfolio_group = "classification"
    options = SupervisedTask.options | {"class_weights"}

    def __init__(self, name: str, n_classes: int | None = None, instead: str = "", sklearn_target_type: str | None = None) -> None:
        # ``instead``: the task a column with another number of classes needs (for the message).
        self.name, self.n_classes, self.instead = name, n_classes, instead
        self.sklearn_target_type = sklearn_target_type
        self.contract_output_size = n_classes or 3

    def infers(self, profile: TargetProfile) -> bool:
        if not profile.looks_categorical:
            return False
        return profile.n_unique == self.n_classes if self.n_classes else profile.n_unique != 2

    def check_target(self, profile: TargetProfile) -> None:
        if self.n_classes and profile.n_unique != self.n_classes:
            raise AutoMLError(f"task '{self.name}' needs {self.n_classes} classes, target '{profile.name}' has {profile.n_unique}",
                              f"use --task {self.instead}")

    def score(self, outputs, targets, target_scale=1.0):
        return classification_scores(outputs, targets)

    def predictions(self, outputs, target_encoder):
        return target_encoder.decode(outputs.argmax(axis=1))

    def probabilities(self, outputs):
        return torch.softmax(torch.as_tensor(outputs), dim=1).numpy()

    def describe_test_predictions(self, prepared, outputs: np.ndarray) -> dict:
        """The confusion matrix of the test predictions, for the report."""
        from sklearn.metrics import confusion_matrix

        encoder = prepared.target_encoder
        matrix = confusion_matrix(prepared.y_test, outputs.argmax(axis=1), labels=list(range(encoder.output_size)))
        return {"labels": [str(c) for c in encoder.classes_], "confusion_matrix": matrix.tolist()}


class RegressionTask(SupervisedTask):
    """Standardized values as targets and outputs; ranked by validation RMSE in the target's units."""

    name = "regression"
    metrics = directions("rmse", "mae", "r2")
    default_metric = "rmse"
    sklearn_target_type = "continuous"
    contract_output_size = 2

    def infers(self, profile: TargetProfile) -> bool:
        return profile.numeric and not profile.looks_categorical

    def check_target(self, profile: TargetProfile) -> None:
        if not profile.numeric:
            raise AutoMLError(
                f"task '{self.name}' needs a numeric target, but '{profile.name}' holds {profile.dtype} values",
                "use --task multiclass, or choose a numeric target",
            )

    def score(self, outputs, targets, target_scale=1.0):
        return regression_scores(outputs, targets, target_scale)

    def describe_test_predictions(self, prepared, outputs: np.ndarray, max_points: int = 5000) -> dict:
        """True and predicted test values in the target's units (a seeded sample of at most
        ``max_points`` rows), for the report's residual plot."""
        encoder = prepared.target_encoder
        true, predicted = encoder.decode(prepared.y_test), encoder.decode(outputs)
        rows = np.arange(len(true))
        if len(rows) > max_points:
            rows = np.sort(np.random.default_rng(0).choice(rows, max_points, replace=False))
        return {"true": true[rows].tolist(), "predicted": predicted[rows].tolist(), "rows": int(len(true))}


class MultilabelTask(SupervisedTask):
    """Several 0/1 labels per row (``--target a,b,c``): one logit per label, a label is on when its
    probability passes 0.5; ranked by the macro F1 over the labels."""

    name = "multilabel"
    metrics = directions("f1_macro", "accuracy", "roc_auc", "log_loss")
    default_metric = "f1_macro"
    has_probabilities = True
    ensembles = False
    target_kind = SEVERAL_COLUMNS
    output_activation = "sigmoid"
    options = SupervisedTask.options - {"ensemble"}
    takes_unmarked_components = False
    sklearn_target_type = "multilabel-indicator"
    contract_output_size = 3

    def score(self, outputs, targets, target_scale=1.0):
        return multilabel_scores(outputs, targets)

    def predictions(self, outputs, target_encoder):
        return target_encoder.decode(outputs > 0)

    def probabilities(self, outputs):
        return torch.sigmoid(torch.as_tensor(outputs)).numpy()

    def describe_test_predictions(self, prepared, outputs: np.ndarray) -> dict:
        """How often each label is on in the test split and in the predictions, for the report."""
        return {"labels": [str(c) for c in prepared.target_encoder.classes_],
                "true_rate": prepared.y_test.mean(axis=0).tolist(), "predicted_rate": (outputs > 0).mean(axis=0).tolist()}
