"""The built-in tasks, registered through the same hook a third-party task would use."""

from torch import nn

from automl import hookimpl
from automl.components import LossSpec
from automl.tasks.cluster import ClusterTask
from automl.tasks.generate import GenerateTask
from automl.tasks.supervised import ClassificationTask, MultilabelTask, RegressionTask


@hookimpl
def automl_tasks():
    return [ClassificationTask("binary", n_classes=2, instead="multiclass", sklearn_target_type="binary"),
            ClassificationTask("multiclass", sklearn_target_type="multiclass"), RegressionTask(), MultilabelTask(),
            ClusterTask(), GenerateTask()]


@hookimpl
def automl_losses():
    # The loss the multilabel task brings with it: one sigmoid cross-entropy per label.
    return [LossSpec(name="binary_cross_entropy", build=lambda: nn.BCEWithLogitsLoss(), tasks=("multilabel",),
                     description="sigmoid cross-entropy per label, averaged")]
