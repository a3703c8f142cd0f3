"""The built-in tasks, registered through the same hook a third-party task would use."""

from automl import hookimpl
from automl.tasks.cluster import ClusterTask
from automl.tasks.generate import GenerateTask
from automl.tasks.supervised import ClassificationTask, RegressionTask


@hookimpl
def automl_tasks():
    return [ClassificationTask("binary"), ClassificationTask("multiclass"), RegressionTask(), ClusterTask(), GenerateTask()]
