"""Export one saved artifact: load it, refuse what export does not cover, build the module, capture
it and write ``preprocessing.json`` beside it."""

import json
from pathlib import Path

import torch

from automl.errors import AutoMLError
from automl.export.capture import FORMATS, save_module
from automl.export.checks import ABSOLUTE_TOLERANCE, CHECK_ROWS, predictor_difference, sample_arrays, sample_table_rows
from automl.export.encoding import ENCODED_ROWS, array_inputs, encode_rows, example_inputs, table_inputs
from automl.export.fitted_steps import preprocessing_steps
from automl.export.modules import ArrayEncoder, ExportedArrayModel, ExportedModel, FeatureEncoder

PREPROCESSING_FILE = "preprocessing.json"


def check_exportable(predictor) -> None:
    """Refuse, by name, a task (one whose ``Task.exportable`` is false, for its own
    ``export_refusal``) or an input kind whose prediction steps the exported module does not hold."""
    from automl.data.text import TextTokenizer

    task = predictor.task_impl
    if not task.exportable:
        raise AutoMLError(f"cannot export a {predictor.task} model: {task.export_refusal}", task.export_instead)
    if isinstance(predictor.features, TextTokenizer):
        raise AutoMLError(
            "cannot export a model of text inputs: tokenization is not in the exported module",
            "use `automl predict` or `automl serve` for this model",
        )


def export_artifact(artifact, output: str | Path, fmt: str = "torchscript", disabled=(), registry=None) -> Path:
    """Write the exported model and ``preprocessing.json`` to ``output``; return the model file.

    Loads only the plugins the model needs (``disabled`` as ``--disable-plugin``; ``registry``,
    e.g. with plugins registered in code, replaces that loading: see :func:`automl.predictor.load`).
    A module TorchScript can only trace is kept only if it predicts what the saved model
    predicts on sample rows (:func:`capture_module`)."""
    from automl.data.arrays import ArrayStandardizer
    from automl.predictor import load

    if fmt not in FORMATS:
        raise AutoMLError(f"unknown export format '{fmt}'", f"use one of: {', '.join(FORMATS)}")
    predictor = load(artifact, disabled=disabled, registry=registry)
    check_exportable(predictor)
    members = predictor.member_features or [predictor.features]
    ensemble = predictor.member_features is not None
    encoder = predictor.target_encoder
    target_mean, target_std = getattr(encoder, "mean_", 0.0), getattr(encoder, "std_", 1.0)
    if isinstance(predictor.features, ArrayStandardizer):
        module = ExportedArrayModel(predictor.network, [ArrayEncoder(features) for features in members], predictor.task_impl.output_activation,
                                    target_mean, target_std, ensemble).eval()
        example = (torch.zeros((3, *predictor.info["input_shape"]), dtype=torch.float32),)
        inputs = array_inputs(predictor.features)
        rows = sample_arrays(predictor.features, CHECK_ROWS, seed=0)
        sample = (rows, (torch.from_numpy(rows),))
    else:
        member_steps = [preprocessing_steps(features) for features in members]
        steps = member_steps[0]
        for other in member_steps[1:]:
            if any(other[key] != steps[key] for key in ENCODED_ROWS):
                raise AutoMLError("cannot export this ensemble: its members encode the raw columns differently",
                                  "use `automl predict` or `automl serve` for this model")
        encoders = [FeatureEncoder(member, predictor.info["input_shape"]) for member in member_steps]
        module = ExportedModel(predictor.network, encoders, predictor.task_impl.output_activation, target_mean, target_std, ensemble).eval()
        example = example_inputs(steps, rows=3)
        inputs = table_inputs(steps)
        rows = sample_table_rows(steps, CHECK_ROWS, seed=0)
        sample = (rows, encode_rows(rows, steps))
    # Values in the target's units differ by the target's scale; probabilities are within 0..1.
    tolerance = ABSOLUTE_TOLERANCE * (max(1.0, abs(float(target_std))) if predictor.task_impl.output_activation is None else 1.0)
    output = Path(output)
    path = output / FORMATS[fmt]
    captured_by = save_module(module, example, fmt, path, check=lambda traced: predictor_difference(traced, predictor, *sample, tolerance))
    info = {
        "format": fmt,
        "model_file": path.name,
        "captured_by": captured_by,
        "task": predictor.task,
        "input_kind": predictor.info.get("input_kind", "tabular"),
        "input_shape": predictor.info["input_shape"],
        **inputs,
        **({"classes": [_plain(c) for c in encoder.classes_]} if predictor.task_impl.has_probabilities
           else {"target": predictor.target}),
    }
    (output / PREPROCESSING_FILE).write_text(json.dumps(info, indent=2))
    return path


def _plain(value):
    return value.item() if hasattr(value, "item") else value
