"""The final model and its test: retrain the best configuration on train+validation for the
epoch count that won (or, with cross-validation, bag its fold models), evaluate it once on the
test split, and save it as an artifact."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from automl.data import PreparedData
from automl.engine.trial_records import TrialRecord
from automl.files import write_bytes_atomic, write_text_atomic
from automl.fitted_state import PREPROCESSING_FILE, dump_preprocessing
from automl.run_directory import MODEL_METRICS_FILE
from automl.tasks import Task, task_named
from automl.tasks.ensemble import EnsembleNetwork, member_inputs
from automl.training.building import build_model
from automl.training.checkpoints import FOLD_MODELS_FILE
from automl.training.epochs import min_steps_of
from automl.training.loop import train_epochs
from automl.training.records import Components, DataFacts, Model
from automl.training.trainable import trial_device

@dataclass
class RefitResult:
    """The final model: its network, the epochs it was trained for, its test metrics and where it is saved."""

    network: torch.nn.Module
    epochs: int
    test_metrics: dict[str, float]
    artifact_dir: Path
    description: str = ""  # how it was made, for the terminal: "the bag of its 5 fold models ..."
    note: str = ""  # why it is not the final model that was asked for ("": it is), see bag_fallback


def refit_and_test(
    best: TrialRecord,
    prepared: PreparedData,
    components: Components,
    artifact_dir: Path,
    on_epoch: Callable[[int, int, dict], None] | None = None,
    precision: str = "fp32",
    task: Task | None = None,
    final_model: str = "refit",
) -> RefitResult:
    """Build the final model of ``best``, score it once on test, save the artifact.

    The one final fit of every task and of every kind of model: ``best`` is a trial, or an
    ensemble of trials (``config["ensemble"]``, see :mod:`automl.ensemble`). Each member is
    refitted on train+val (with folds: every training row) for its own epoch count with its
    own preprocessing variant; or, with folds and ``final_model="bag"``, each member is the
    bag of its trial's K fold models at their best epoch (read from the trial's checkpoint, no
    retraining), each fold model reading the rows through its fold's own fitted preprocessing.
    Several networks are saved as one :class:`automl.tasks.ensemble.EnsembleNetwork` keeping
    every member's fitted pipeline; a member of weight ``w`` bagged over K folds is K members
    of weight ``w / K``. A bag asked for whose members' checkpoints do not all hold fold models
    is refit instead, never silently: the result's ``note`` names the trials and why
    (:func:`bag_fallback`).
    """
    task = task or task_named(prepared.task)
    members = final_members(best)
    note = bag_fallback(best, prepared, final_model)
    bagged = bool(prepared.folds) and final_model == "bag" and not note
    if bagged:
        parts = [part for m in members for part in bag_parts(m, prepared, components, task)]
        first_model = None
    else:
        member_data = [prepared.with_preprocessing(m["config"].get("preprocessing")) for m in members]
        models = [fit_on_train_and_val(m["config"], m["epochs"], data, components, on_epoch, precision, task)
                  for m, data in zip(members, member_data)]
        parts = [({"config": m["config"], "weight": m.get("weight", 1.0), "epochs": m["epochs"]}, model.network, data)
                 for m, model, data in zip(members, models, member_data)]
        first_model = models[0]
    epochs = max(m["epochs"] for m in members)
    config, data, network, state = best.config, parts[0][2], parts[0][1], {}
    if len(parts) > 1:
        network = EnsembleNetwork([net.cpu() for _, net, _ in parts], [m["weight"] for m, _, _ in parts],
                                  task.is_classification, [m.get("output_map") for m, _, _ in parts])
        config = {"ensemble": [{k: v for k, v in m.items() if k != "checkpoint"} for m, _, _ in parts]}
        data = replace(data, X_test=member_inputs([d.X_test for _, _, d in parts]))
        state = {"member_features": [d.features for _, _, d in parts]}
    if prepared.folds:
        config = {**config, "final_model": "bag" if bagged else "refit"}
    X_fit = np.concatenate([data.X_train, data.X_val])
    test_metrics, evaluation, fitted = task.test_once(first_model, network, data, best.metrics, X_fit, int(config.get("seed", 0)))
    save_artifact(artifact_dir, network.cpu(), config, data, epochs, test_metrics, evaluation, {**state, **fitted},
                  components, task)
    return RefitResult(network, epochs, test_metrics, artifact_dir, describe_final_model(members, bagged, len(prepared.folds), epochs),
                       note)


def final_members(best: TrialRecord) -> list[dict]:
    """The trials the final model is made of: an ensemble's members, or the best trial alone."""
    return best.config.get("ensemble") or [{"config": best.config, "epochs": refit_epochs(best.metrics, best.config),
                                            "weight": 1.0, "trial_id": best.trial_id, "checkpoint": best.checkpoint}]


def bag_fallback(best: TrialRecord, prepared: PreparedData, final_model: str) -> str:
    """Why the bag of fold models that ``final_model="bag"`` asks for cannot be made, so the
    final model is refit instead: the trials whose checkpoint holds no fold models, by name;
    ``""`` when the bag can be made or was not asked for (a hold-out, or ``"refit"``)."""
    if not prepared.folds or final_model != "bag":
        return ""
    lacking = [m for m in final_members(best) if fold_models_file(m.get("checkpoint")) is None]
    if not lacking:
        return ""
    why = "; ".join(f"trial {m.get('trial_id')} saved no fold models "
                    + (f"({FOLD_MODELS_FILE} is not in its checkpoint {m['checkpoint']})" if m.get("checkpoint") else "(it has no checkpoint)")
                    for m in lacking)
    return f"refit on every training row instead of the bag that --final-model bag asks for: {why}"


def describe_final_model(members: list[dict], bagged: bool, folds: int, epochs: int) -> str:
    """One phrase: what the final model is and how it was trained."""
    what = f"an ensemble of {len(members)} trials" if len(members) > 1 else "the best trial"
    if bagged:
        return f"{what}, each the bag of its {folds} fold models at its best epoch (no refit)"
    rows = "every training row" if folds else "train+val"
    if len(members) > 1:
        return f"{what}, each refit on {rows} for its own best epoch count"
    return f"{what}, refit on {rows} for {epochs} epochs"


def fold_models_file(checkpoint: str | None) -> Path | None:
    """The fold models' weights a trial saved in its checkpoint folder, or ``None``."""
    path = Path(checkpoint or "") / FOLD_MODELS_FILE
    return path if checkpoint and path.is_file() else None


def bag_parts(member: dict, prepared: PreparedData, components: Components, task: Task) -> list[tuple[dict, torch.nn.Module, PreparedData]]:
    """``(member record, network, data)`` of each fold model of a trial: its weights at the
    trial's best epoch, and the data as that fold's preprocessing encodes it. The record's
    ``output_map`` (regression) puts the fold model's outputs, standardized as its fold's fit
    rows were, in the encoding of every training row that the artifact's one target encoder decodes."""
    states = torch.load(fold_models_file(member["checkpoint"]), weights_only=True, map_location="cpu")
    if len(states) != len(prepared.folds):
        raise RuntimeError(f"trial {member.get('trial_id')} saved {len(states)} fold models, the data has {len(prepared.folds)} folds")
    config, weight = member["config"], member.get("weight", 1.0) / len(states)
    parts = []
    for i, (fold, weights) in enumerate(zip(prepared.folds, states)):
        variant = fold.variant(config.get("preprocessing"))
        # Its rows' targets in the encoding of every training row, which the artifact decodes.
        data = replace(prepared, features=variant.features, X_train=variant.X_train, y_train=prepared.y_train[fold.train],
                       X_val=variant.X_val, y_val=prepared.y_train[fold.val], X_test=variant.X_test, class_weights=fold.class_weights)
        model = build_model(config, components, prepared.input_shape, prepared.output_size, torch.device("cpu"),
                            DataFacts.of_data(task, data), task.parameter_groups)
        model.network.load_state_dict(weights)
        record = {"config": config, "weight": weight, "epochs": member["epochs"], "trial_id": member.get("trial_id"), "fold": i + 1,
                  **({"output_map": list(fold.output_map)} if fold.output_map is not None else {})}
        parts.append((record, model.network, data))
    return parts


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
    facts = DataFacts.of_data(task, replace(prepared, y_train=y))
    model = build_model(config, components, prepared.input_shape, prepared.output_size, device, facts, task.parameter_groups)
    trained = train_epochs(model, X, y if task.supervised else None, epochs, int(config["batch_size"]), device,
                           int(config.get("seed", 0)), precision=precision, batch_losses=task.batch_losses,
                           loss_keys=task.loss_keys, min_steps=min_steps_of(config))
    for epoch, metrics in enumerate(trained, start=1):
        if on_epoch:
            on_epoch(epoch, epochs, metrics)
    return model


def save_artifact(
    artifact_dir: Path, network, config, prepared: PreparedData, epochs: int, test_metrics,
    evaluation: dict | None = None, extra_state: dict | None = None, components: Components | None = None,
    task: Any = None,
) -> None:
    """Weights as a state_dict, fitted preprocessing, config, metrics, versions, and a checksum manifest.

    With ``components`` (the search's, which know their plugins) and its ``task``, ``model.json`` records the
    package and version of every plugin component the model uses and which of them
    prediction needs (:mod:`automl.requirements`).

    ``evaluation`` (what the report shows of the single test evaluation) goes to metrics.json;
    ``extra_state`` (fitted objects a task needs besides the network, e.g. a KMeans, or lists of
    them such as an ensemble's ``member_features``) is saved with the preprocessing
    (``preprocessing.skops``, see :mod:`automl.fitted_state`)."""
    import io

    from automl.requirements import RECORD_KEY, plugin_record

    info = {
        "config": config,
        "task": prepared.task,
        "input_kind": prepared.input_kind,
        "input_shape": list(prepared.input_shape),
        "output_size": prepared.output_size,
        "vocab_size": getattr(prepared, "vocab_size", None),
        "target": prepared.target,
        "epochs": epochs,
        "dataset": prepared.name,
    }
    plugins = plugin_record(config, components, DataFacts.of_model(info, task).for_builders()) if components is not None else None
    buffer = io.BytesIO()
    torch.save(network.state_dict(), buffer)
    files = {
        "weights.pt": buffer.getvalue(),
        "model.json": _json({**info, **({RECORD_KEY: plugins} if plugins is not None else {})}),
        PREPROCESSING_FILE: dump_preprocessing({"features": prepared.features, "target": prepared.target_encoder, **(extra_state or {})}),
        MODEL_METRICS_FILE: _json({"test": test_metrics, "test_predictions": evaluation or {}}),
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
