"""Quantile regression with an 80 % prediction interval: a task the platform does not ship.

Its networks output the 10 %, 50 % and 90 % quantiles of a numeric target, trained on a pinball
loss this package brings; it ranks trials by the validation pinball loss, predicts the median
with the interval beside it, and refuses export. The complete example of the ``automl_tasks``
hook (automl/hookspecs.py); tests/task_package.py installs it and searches it with
``automl search data.csv --target y --task quantile``.
"""

import numpy as np
import torch
from automl import hookimpl
from automl.components import LossSpec
from automl.errors import AutoMLError
from automl.tasks.supervised import SupervisedTask

QUANTILES = (0.1, 0.5, 0.9)

def pinball(outputs, targets):
    levels = torch.as_tensor(QUANTILES, dtype=outputs.dtype, device=outputs.device)
    error = targets.reshape(-1, 1) - outputs
    return torch.maximum(levels * error, (levels - 1) * error).mean()

class PinballLoss(torch.nn.Module):
    def forward(self, outputs, targets):
        return pinball(outputs, targets)

class QuantileTask(SupervisedTask):
    name = "quantile"
    metrics = {"pinball": "min", "interval_miss": "min", "mae": "min"}
    default_metric = "pinball"
    ensembles = False
    exportable = False
    export_refusal = "the exported module returns one value per row, a quantile model three"
    export_instead = "use `automl predict` or `automl serve` for this model"
    takes_unmarked_components = False
    takes_components_of = ("regression",)    # mlp, resnet, dropout, ... fit it too
    options = SupervisedTask.options - {"ensemble"}
    contract_output_size = 3

    def check_target(self, profile):
        if not profile.numeric:
            raise AutoMLError(f"task 'quantile' needs a numeric target, '{profile.name}' "
                              f"holds {profile.dtype} values", "choose a numeric target")

    def output_size(self, target_size):
        return target_size * len(QUANTILES)

    def score(self, outputs, targets, target_scale=1.0):
        targets = targets.reshape(-1, 1)
        inside = (targets[:, 0] >= outputs[:, 0]) & (targets[:, 0] <= outputs[:, 2])
        loss = float(pinball(torch.as_tensor(outputs), torch.as_tensor(targets)))
        return {"pinball": loss * target_scale, "interval_miss": abs(float(inside.mean()) - 0.8),
                "mae": float(np.abs(targets[:, 0] - outputs[:, 1]).mean()) * target_scale}

    def predictions(self, outputs, target_encoder):
        return target_encoder.decode(outputs[:, 1])

    def prediction_columns(self, outputs, target_encoder, target):
        return {f"predicted_{target}": self.predictions(outputs, target_encoder),
                f"lower_{target}": target_encoder.decode(outputs[:, 0]),
                f"upper_{target}": target_encoder.decode(outputs[:, 2])}

    def describe_test_predictions(self, prepared, outputs):   # for the report
        encoder = prepared.target_encoder
        return {"true": encoder.decode(prepared.y_test).tolist(),
                "predicted": encoder.decode(outputs[:, 1]).tolist(),
                "rows": len(prepared.y_test)}

@hookimpl
def automl_tasks():
    return [QuantileTask()]

@hookimpl
def automl_losses():
    return [LossSpec(name="pinball", build=PinballLoss, tasks=("quantile",))]
