"""Export a saved artifact as a model that runs with torch alone: TorchScript or ``torch.export``.

``automl export ARTIFACT --format torchscript --output DIR`` writes two files:

- ``DIR/model.torchscript.pt`` (``torch.jit.load``), or ``DIR/model.pt2`` for
  ``--format torch-export`` (``torch.export.load(...).module()``): one module
  ``forward(numeric, categorical)`` that runs the fitted preprocessing *and* the network:

  - ``numeric``: float32 tensor ``(N, len(numeric_columns))``, raw values, ``NaN`` where
    missing; the module imputes the training median and standardizes with the training
    mean and scale;
  - ``categorical``: int64 tensor ``(N, len(categorical_columns))`` of category codes: the
    position of the value (as a string) in that column's ``categories``, ``-2`` where
    missing (the module imputes the training mode) and ``-1`` for a value unseen in
    training (encoded as all zeros, like the one-hot encoder does);
  - returns class probabilities ``(N, n_classes)`` in the order of ``classes``, or
    predicted values ``(N, n_targets)`` in the target's units for regression.

- ``DIR/preprocessing.json``: the documented step that stays outside the module, turning a
  row into those two tensors: ``numeric_columns``, ``categorical_columns``, each categorical
  column's ``categories``, plus ``classes`` (or ``target``), ``task`` and ``input_shape``.
  :func:`encode_rows` is that step in Python (numpy, torch, and pandas for convenience).

The exported module gives the same predictions as ``automl predict`` on the same rows (up to
float32 rounding); ``tests/test_export.py`` checks it.
"""

import json
from pathlib import Path
from typing import List

import numpy as np
import pandas as pd
import torch

from automl.errors import AutoMLError

FORMATS = {"torchscript": "model.torchscript.pt", "torch-export": "model.pt2"}
PREPROCESSING_FILE = "preprocessing.json"
MISSING_CODE = -2
UNKNOWN_CODE = -1


class ExportedModel(torch.nn.Module):
    """Fitted preprocessing (impute, standardize, one-hot) + network + output decoding, in torch."""

    category_sizes: List[int]  # typing.List: TorchScript does not read list[int] in class annotations
    input_shape: List[int]

    def __init__(self, network, steps: dict, input_shape: list[int], task: str, target_mean: float, target_std: float):
        super().__init__()
        self.network = network
        self.register_buffer("medians", torch.tensor(steps["medians"], dtype=torch.float32))
        self.register_buffer("means", torch.tensor(steps["means"], dtype=torch.float32))
        self.register_buffer("scales", torch.tensor(steps["scales"], dtype=torch.float32))
        self.register_buffer("fill_codes", torch.tensor(steps["fill_codes"], dtype=torch.int64))
        self.category_sizes = [len(c) for c in steps["categories"]]
        self.input_shape = list(input_shape)
        self.classification = task in ("binary", "multiclass")
        self.target_mean = float(target_mean)
        self.target_std = float(target_std)

    def forward(self, numeric: torch.Tensor, categorical: torch.Tensor) -> torch.Tensor:
        """Class probabilities or target values for raw ``numeric`` features and ``categorical`` codes."""
        numeric = torch.where(torch.isnan(numeric), self.medians, numeric)
        parts = [(numeric - self.means) / self.scales]
        codes = torch.where(categorical == -2, self.fill_codes, categorical)  # -2: MISSING_CODE (TorchScript reads no globals)
        for j, size in enumerate(self.category_sizes):
            column = codes[:, j]
            one_hot = torch.nn.functional.one_hot(column.clamp(min=0), size).to(torch.float32)
            parts.append(one_hot * (column >= 0).to(torch.float32).unsqueeze(1))
        features = torch.cat(parts, dim=1)
        outputs = self.network(features.reshape([features.shape[0]] + self.input_shape))
        if self.classification:
            return torch.softmax(outputs, dim=1)
        return outputs * self.target_std + self.target_mean


def preprocessing_steps(features) -> dict:
    """The fitted values of an artifact's feature preprocessing, or a clear error if it holds a
    step this exporter does not know."""
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    transformer = getattr(features, "transformer_", None)
    if transformer is None or not hasattr(transformer, "named_transformers_"):
        raise AutoMLError("this artifact's preprocessing is not the column transformer export knows",
                          "use `automl predict` or `automl serve` for this model")
    numeric_columns = list(features.numeric_columns_)
    categorical_columns = list(features.categorical_columns_)
    steps = {"medians": [], "means": [], "scales": [], "fill_codes": [], "categories": []}

    def parts(name, expected):
        pipeline = transformer.named_transformers_.get(name)
        found = tuple(type(step) for _, step in getattr(pipeline, "steps", []))
        if found != expected:
            raise AutoMLError(
                f"cannot export the '{name}' preprocessing: its steps are {[t.__name__ for t in found]}, "
                f"export knows {[t.__name__ for t in expected]}",
                "use `automl predict` or `automl serve` for this model",
            )
        return [step for _, step in pipeline.steps]

    if numeric_columns:
        imputer, scaler = parts("numeric", (SimpleImputer, StandardScaler))
        steps["medians"] = [float(v) for v in imputer.statistics_]
        steps["means"] = [float(v) for v in scaler.mean_]
        steps["scales"] = [float(v) for v in scaler.scale_]
    if categorical_columns:
        imputer, encoder = parts("categorical", (SimpleImputer, OneHotEncoder))
        steps["categories"] = [[str(c) for c in cats] for cats in encoder.categories_]
        steps["fill_codes"] = [cats.index(str(fill)) if str(fill) in cats else UNKNOWN_CODE
                               for fill, cats in zip(imputer.statistics_, steps["categories"])]
    return {"numeric_columns": numeric_columns, "categorical_columns": categorical_columns, **steps}


def export_artifact(artifact, output: str | Path, fmt: str = "torchscript") -> Path:
    """Write the exported model and ``preprocessing.json`` to ``output``; return the model file."""
    from automl.predictor import load

    if fmt not in FORMATS:
        raise AutoMLError(f"unknown export format '{fmt}'", f"use one of: {', '.join(FORMATS)}")
    predictor = load(artifact)
    steps = preprocessing_steps(predictor.features)
    encoder = predictor.target_encoder
    module = ExportedModel(predictor.network, steps, predictor.info["input_shape"], predictor.task,
                           getattr(encoder, "mean_", 0.0), getattr(encoder, "std_", 1.0)).eval()
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    path = output / FORMATS[fmt]
    example = example_inputs(steps, rows=3)
    captured_by = "torch.export"
    if fmt == "torchscript":
        try:
            scripted, captured_by = torch.jit.script(module), "torch.jit.script"
        except Exception:  # architectures with Python-only code: trace the graph these inputs take
            scripted, captured_by = torch.jit.trace(module, example), "torch.jit.trace"
        torch.jit.save(scripted, str(path))
    else:
        batch = torch.export.Dim("batch", min=1)
        try:
            program = torch.export.export(module, example, dynamic_shapes=({0: batch}, {0: batch}))
        except Exception as exc:
            raise AutoMLError(
                f"torch.export cannot capture this architecture: {type(exc).__name__}: {str(exc).splitlines()[0]}",
                "use --format torchscript",
            ) from None
        torch.export.save(program, str(path))
    info = {
        "format": fmt,
        "model_file": path.name,
        "captured_by": captured_by,
        "task": predictor.task,
        "input_shape": predictor.info["input_shape"],
        "how": ("numeric: float32 (N, len(numeric_columns)), NaN where missing; categorical: int64 "
                "(N, len(categorical_columns)), the index of str(value) in categories[j], -2 if missing, "
                "-1 if unseen; output: class probabilities in the order of classes, or target values"),
        "numeric_columns": steps["numeric_columns"],
        "categorical_columns": steps["categorical_columns"],
        "categories": steps["categories"],
        **({"classes": [_plain(c) for c in encoder.classes_]} if predictor.task in ("binary", "multiclass")
           else {"target": predictor.target}),
    }
    (output / PREPROCESSING_FILE).write_text(json.dumps(info, indent=2))
    return path


def example_inputs(steps: dict, rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Valid example tensors (training medians and modes) for tracing and export."""
    numeric = torch.tensor([steps["medians"]] * rows, dtype=torch.float32).reshape(rows, len(steps["medians"]))
    categorical = torch.tensor([steps["fill_codes"]] * rows, dtype=torch.int64).reshape(rows, len(steps["fill_codes"]))
    return numeric, categorical


def encode_rows(frame: pd.DataFrame, preprocessing: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """The documented step outside the exported module: rows → ``(numeric, categorical)`` tensors."""
    missing = [c for c in preprocessing["numeric_columns"] + preprocessing["categorical_columns"] if c not in frame.columns]
    if missing:
        raise AutoMLError(f"required column '{missing[0]}' is missing from the data", "add that column")
    numeric = np.array(frame[preprocessing["numeric_columns"]].apply(pd.to_numeric), dtype=np.float32)
    codes = np.empty((len(frame), len(preprocessing["categorical_columns"])), dtype=np.int64)
    for j, (column, categories) in enumerate(zip(preprocessing["categorical_columns"], preprocessing["categories"])):
        index = {c: i for i, c in enumerate(categories)}
        codes[:, j] = [MISSING_CODE if pd.isna(v) else index.get(str(v), UNKNOWN_CODE) for v in frame[column]]
    return torch.from_numpy(numeric.reshape(len(frame), -1)), torch.from_numpy(codes)


def _plain(value):
    return value.item() if hasattr(value, "item") else value
