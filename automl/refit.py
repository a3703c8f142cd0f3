"""Refit and test: retrain the best configuration on train+validation for the epoch count that
won, evaluate it once on the test split, and save it as an artifact."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from automl.data import PreparedData
from automl.engine import TrialRecord
from automl.files import write_bytes_atomic, write_text_atomic
from automl.fitted_state import PREPROCESSING_FILE, dump_preprocessing
from automl.components import CLASSIFICATION_TASKS
from automl.tasks import Task, task_named
from automl.tasks.ensemble import EnsembleNetwork, member_inputs
from automl.trial import Components, DataFacts, Model, build_model, train_epochs, trial_device

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
    task: Task | None = None,
) -> RefitResult:
    """Retrain ``best`` on train+val, score it once on test, save the artifact.

    The one refit of every task and of every kind of model: ``best`` is a trial, or an
    ensemble of trials (``config["ensemble"]``, see :mod:`automl.ensemble`) whose members are
    each refitted for their own epoch count with their own preprocessing variant and saved as
    one :class:`automl.tasks.ensemble.EnsembleNetwork` keeping every member's fitted pipeline.
    """
    task = task or task_named(prepared.task)
    ensemble = best.config.get("ensemble")
    members = ensemble or [{"config": best.config, "epochs": refit_epochs(best.metrics, best.config)}]
    member_data = [prepared.with_preprocessing(m["config"].get("preprocessing")) for m in members]
    models = [fit_on_train_and_val(m["config"], m["epochs"], data, components, on_epoch, precision, task)
              for m, data in zip(members, member_data)]
    epochs = max(m["epochs"] for m in members)
    config, data, network, state = best.config, member_data[0], models[0].network, {}
    if ensemble:
        network = EnsembleNetwork([m.network.cpu() for m in models], [m["weight"] for m in members],
                                  prepared.task in CLASSIFICATION_TASKS)
        config = {k: v for k, v in best.config.items() if k != "architecture"}
        data = replace(data, X_test=member_inputs([d.X_test for d in member_data]))
        state = {"member_features": [d.features for d in member_data]}
    X_fit = np.concatenate([data.X_train, data.X_val])
    test_metrics, evaluation, fitted = task.test_once(models[0], network, data, best.metrics, X_fit, int(config.get("seed", 0)))
    save_artifact(artifact_dir, network.cpu(), config, data, epochs, test_metrics, evaluation, {**state, **fitted},
                  components)
    return RefitResult(network, epochs, test_metrics, artifact_dir)


def refit_epochs(best_metrics, config) -> int:
    """The epoch count that won the trial (at least one)."""
    return max(1, int(best_metrics.get("best_epoch") or config["epochs"]))


def fit_on_train_and_val(
    config: dict, epochs: int, prepared: PreparedData, components: Components,
    on_epoch: Callable[[int, int, dict], None] | None = None, precision: str = "fp32", task: Task | None = None,
) -> Model:
    """A fresh model for ``config`` trained on train+val for ``epochs`` epochs, in the one training loop."""
    task = task or task_named(prepared.task)
    device = trial_device()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    X = np.concatenate([prepared.X_train, prepared.X_val])
    y = np.concatenate([prepared.y_train, prepared.y_val])
    facts = DataFacts.of(prepared.task, prepared.input_kind, prepared.output_size, y, getattr(prepared, "vocab_size", None),
                         prepared.class_weights)
    model = build_model(config, components, prepared.input_shape, prepared.output_size, device, facts, task.parameter_groups)
    trained = train_epochs(model, X, y if task.supervised else None, epochs, int(config["batch_size"]), device,
                           int(config.get("seed", 0)), precision=precision, batch_losses=task.batch_losses,
                           loss_keys=task.loss_keys)
    for epoch, metrics in enumerate(trained, start=1):
        if on_epoch:
            on_epoch(epoch, epochs, metrics)
    return model


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
