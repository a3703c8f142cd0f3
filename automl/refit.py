"""Refit and test: retrain the best configuration on train+validation for the epoch count that
won, evaluate it once on the test split, and save it as an artifact."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from automl.data import PreparedData
from automl.engine import TrialRecord
from automl.files import write_bytes_atomic, write_text_atomic
from automl.fitted_state import PREPROCESSING_FILE, dump_preprocessing
from automl.metrics import score
from automl.trial import Components, DataFacts, build_model, predict_outputs, train_epochs, trial_device
from automl.unsupervised import task_strategy

ARTIFACT_FILES = ("weights.pt", "model.json", PREPROCESSING_FILE, "metrics.json", "versions.json")


@dataclass
class RefitResult:
    """The final model: its network, the epochs it was trained for, its test metrics and where it is saved."""

    network: torch.nn.Module
    epochs: int
    test_metrics: dict[str, float]
    artifact_dir: Path


def refit_and_test(
    best: TrialRecord,
    prepared: PreparedData,
    components: Components,
    artifact_dir: Path,
    on_epoch: Callable[[int, int, dict], None] | None = None,
    precision: str = "fp32",
) -> RefitResult:
    """Retrain ``best`` on train+val, score it once on test, save the artifact."""
    strategy = task_strategy(prepared.task)
    if strategy is not None:
        return strategy.refit_and_test(best, prepared, components, artifact_dir, on_epoch)
    config = best.config
    prepared = prepared.with_preprocessing(config.get("preprocessing"))
    epochs = max(1, int(best.metrics.get("best_epoch") or config["epochs"]))
    network = fit_on_train_and_val(config, epochs, prepared, components, on_epoch, precision)
    test_metrics = test_and_save(network, config, prepared, epochs, artifact_dir, components=components)
    return RefitResult(network, epochs, test_metrics, artifact_dir)


def fit_on_train_and_val(
    config: dict, epochs: int, prepared: PreparedData, components: Components,
    on_epoch: Callable[[int, int, dict], None] | None = None, precision: str = "fp32",
) -> torch.nn.Module:
    """A fresh network for ``config`` trained on train+val for ``epochs`` epochs."""
    device = trial_device()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    X = np.concatenate([prepared.X_train, prepared.X_val])
    y = np.concatenate([prepared.y_train, prepared.y_val])
    facts = DataFacts.of(prepared.task, prepared.input_kind, prepared.output_size, y, getattr(prepared, "vocab_size", None),
                         prepared.class_weights)
    model = build_model(config, components, prepared.input_shape, prepared.output_size, device, facts)
    for epoch, metrics in enumerate(
        train_epochs(model, X, y, epochs, int(config["batch_size"]), device, int(config.get("seed", 0)), precision=precision),
        start=1,
    ):
        if on_epoch:
            on_epoch(epoch, epochs, metrics)
    return model.network


def test_and_save(
    network: torch.nn.Module, config: dict, prepared: PreparedData, epochs: int, artifact_dir: Path,
    extra_state: dict | None = None, components: Components | None = None,
) -> dict:
    """Score the final model once on the test split, save the artifact (with ``extra_state``
    and what it needs of ``components``, see :func:`save_artifact`), return the test metrics."""
    scale = getattr(prepared.target_encoder, "std_", 1.0)
    device = next(network.parameters()).device
    # The one and only use of the test split.
    outputs = predict_outputs(network, prepared.X_test, device)
    test_metrics = score(prepared.task, outputs, prepared.y_test, scale)
    # Kept from this same evaluation for the report's confusion matrix or residual plot.
    evaluation = describe_test_predictions(prepared, outputs)
    save_artifact(artifact_dir, network.cpu(), config, prepared, epochs, test_metrics, evaluation, extra_state, components)
    return test_metrics


def describe_test_predictions(prepared: PreparedData, outputs: np.ndarray, max_points: int = 5000) -> dict:
    """What the report shows of the test predictions: a confusion matrix (classification) or
    true and predicted values in the target's units (regression; a seeded sample of at most
    ``max_points`` rows)."""
    encoder = prepared.target_encoder
    if prepared.task in ("binary", "multiclass"):
        from sklearn.metrics import confusion_matrix

        labels = list(range(encoder.output_size))
        matrix = confusion_matrix(prepared.y_test, outputs.argmax(axis=1), labels=labels)
        return {"labels": [str(c) for c in encoder.classes_], "confusion_matrix": matrix.tolist()}
    true, predicted = encoder.decode(prepared.y_test), encoder.decode(outputs)
    rows = np.arange(len(true))
    if len(rows) > max_points:
        rows = np.sort(np.random.default_rng(0).choice(rows, max_points, replace=False))
    return {"true": true[rows].tolist(), "predicted": predicted[rows].tolist(), "rows": int(len(true))}


def save_artifact(
    artifact_dir: Path, network, config, prepared: PreparedData, epochs: int, test_metrics,
    evaluation: dict | None = None, extra_state: dict | None = None, components: Components | None = None,
) -> None:
    """Weights as a state_dict, fitted preprocessing, config, metrics, versions, and a checksum manifest.

    With ``components`` (the search's, which know their plugins), ``model.json`` records the
    package and version of every plugin component the model uses and which of them
    prediction needs (:mod:`automl.requirements`).

    ``evaluation`` (what the report shows of the single test evaluation) goes to metrics.json;
    ``extra_state`` (fitted objects a task needs besides the network, e.g. a KMeans, or lists of
    them such as an ensemble's ``member_features``) is saved with the preprocessing
    (``preprocessing.skops``, see :mod:`automl.fitted_state`)."""
    import io

    from automl.requirements import RECORD_KEY, plugin_record

    facts = DataFacts(prepared.task, prepared.input_kind, prepared.output_size, getattr(prepared, "vocab_size", None))
    plugins = plugin_record(config, components, facts.for_builders()) if components is not None else None
    buffer = io.BytesIO()
    torch.save(network.state_dict(), buffer)
    files = {
        "weights.pt": buffer.getvalue(),
        "model.json": _json({
            "config": config,
            "task": prepared.task,
            "input_kind": prepared.input_kind,
            "input_shape": list(prepared.input_shape),
            "output_size": prepared.output_size,
            "vocab_size": getattr(prepared, "vocab_size", None),
            "target": prepared.target,
            "epochs": epochs,
            "dataset": prepared.name,
            **({RECORD_KEY: plugins} if plugins is not None else {}),
        }),
        PREPROCESSING_FILE: dump_preprocessing({"features": prepared.features, "target": prepared.target_encoder, **(extra_state or {})}),
        "metrics.json": _json({"test": test_metrics, "test_predictions": evaluation or {}}),
        "versions.json": _json(library_versions()),
    }
    for name, data in files.items():
        write_bytes_atomic(artifact_dir / name, data)
    manifest = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    # Written last: an artifact without a manifest is an incomplete one.
    write_text_atomic(artifact_dir / "manifest.json", json.dumps({"sha256": manifest}, indent=2))


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries an artifact depends on (saved as ``versions.json``)."""
    import importlib.metadata
    import platform

    versions = {"python": platform.python_version()}
    for package in ("automl-torch", "torch", "ray", "scikit-learn", "pandas", "numpy", "pluggy"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            pass
    return versions


def _json(value) -> bytes:
    return json.dumps(value, indent=2, default=str).encode()
