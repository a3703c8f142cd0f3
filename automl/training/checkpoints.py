"""A trial's checkpoint folder: what it holds, and whether a kill left it whole.

A trial writes a checkpoint into a temporary folder and hands it to Ray Tune with its report;
Tune copies it file by file to ``RUN_DIR/trials/<trial id>/checkpoint_<n>``. The folder holds:

- ``checkpoint.json``, the manifest: the checkpoint's epoch, the best validation score so far,
  its epoch and the task's carried values (:class:`Progress`), and every other file of the
  folder with its size and SHA-256;
- ``training_state.pt`` (with ``--checkpoint-every``, or a scheduler that pauses or clones
  trials): every fold model's weights, optimizers, schedules and the random-number state, from
  which a trial goes on at the next epoch;
- ``val_outputs.npy`` (ensembles): the best epoch's validation outputs;
- ``fold_models.pt`` (the bag): the best epoch's weights of every fold model;
- ``epochs.json``: the epochs of the report the checkpoint travelled with (a driver killed
  before it took the report never journaled them).

A copy cut short by a kill leaves a folder whose files do not match its manifest, or no
manifest: :func:`read_checkpoint` answers ``None`` for it, so nothing restores from half a
file. A whole checkpoint without training state is still worth handing to a trial: it starts
again from epoch 1 but keeps its best score, outputs and fold models so far.

Everything is read without unpickling: JSON, ``torch.load(weights_only=True)`` and
``np.load`` without pickles.

What goes into ``training_state.pt`` (:func:`training_state`) and how a trial goes on from a
checkpoint Ray Tune hands it (:func:`restore_from`) live here too.
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch

from automl.training.building import split_params
from automl.training.records import Model

MANIFEST_FILE = "checkpoint.json"
TRAINING_STATE_FILE = "training_state.pt"
VAL_OUTPUTS_FILE = "val_outputs.npy"
FOLD_MODELS_FILE = "fold_models.pt"  # the best epoch's weights of every fold model
EPOCHS_FILE = "epochs.json"
CHECKPOINT_FOLDER = re.compile(r"checkpoint_(\d+)$")  # Ray Tune's name for the n-th checkpoint of a trial


@dataclass(frozen=True)
class Progress:
    """Where a trial stood when it wrote a checkpoint: the epoch, and the best score so far."""

    epoch: int
    best: float | None
    best_epoch: int
    carried: dict = field(default_factory=dict)  # the task's best_<key> values at the best epoch


@dataclass(frozen=True)
class SavedCheckpoint:
    """A whole checkpoint folder, as its manifest describes it; the files load on demand."""

    folder: Path
    progress: Progress
    files: frozenset[str]

    @property
    def has_training_state(self) -> bool:
        """Whether a trial can go on from it at the next epoch (else it starts again from epoch 1)."""
        return TRAINING_STATE_FILE in self.files

    @property
    def index(self) -> int:
        """Ray Tune's number of the checkpoint (``checkpoint_000004`` -> 4)."""
        return checkpoint_index(self.folder)

    def training_state(self) -> dict:
        return torch.load(self.folder / TRAINING_STATE_FILE, weights_only=True, map_location="cpu")

    def val_outputs(self) -> np.ndarray | None:
        return np.load(self.folder / VAL_OUTPUTS_FILE, allow_pickle=False) if VAL_OUTPUTS_FILE in self.files else None

    def fold_models(self) -> list | None:
        if FOLD_MODELS_FILE not in self.files:
            return None
        return torch.load(self.folder / FOLD_MODELS_FILE, weights_only=True, map_location="cpu")

    def epochs(self) -> list[dict[str, Any]]:
        """The epochs of the report it travelled with."""
        return json.loads((self.folder / EPOCHS_FILE).read_text()) if EPOCHS_FILE in self.files else []


def write_checkpoint(
    folder: Path, progress: Progress, epochs: list[dict[str, Any]], training_state: dict | None = None,
    val_outputs: np.ndarray | None = None, fold_models: list | None = None,
) -> None:
    """Write a checkpoint into ``folder``, its manifest last."""
    from automl.files import json_value

    folder = Path(folder)
    if training_state is not None:
        torch.save(training_state, folder / TRAINING_STATE_FILE)
    if val_outputs is not None:
        np.save(folder / VAL_OUTPUTS_FILE, val_outputs)
    if fold_models is not None:
        torch.save(fold_models, folder / FOLD_MODELS_FILE)
    (folder / EPOCHS_FILE).write_text(json.dumps(epochs, default=json_value))
    files = sorted(p.name for p in folder.iterdir() if p.is_file() and p.name != MANIFEST_FILE)
    manifest = {
        "epoch": progress.epoch, "best": progress.best, "best_epoch": progress.best_epoch,
        "carried": dict(progress.carried),
        "files": {name: {"bytes": (folder / name).stat().st_size, "sha256": _sha256(folder / name)} for name in files},
    }
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, default=json_value))


def read_checkpoint(folder: str | Path) -> SavedCheckpoint | None:
    """The checkpoint in ``folder`` if it is whole: a manifest, and every file it names with
    the size and SHA-256 it names; else ``None``."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST_FILE).read_text())
        files = manifest["files"]
        for name, expected in files.items():
            path = folder / name
            if "/" in name or path.stat().st_size != expected["bytes"] or _sha256(path) != expected["sha256"]:
                return None
        progress = Progress(int(manifest["epoch"]), manifest["best"], int(manifest["best_epoch"]), dict(manifest["carried"]))
    except (OSError, ValueError, KeyError, TypeError):  # missing, cut short, or not a manifest
        return None
    return SavedCheckpoint(folder, progress, frozenset(files))


def checkpoint_index(folder: Path) -> int:
    """Ray Tune's number of a checkpoint folder (-1 for a folder not named like one)."""
    match = CHECKPOINT_FOLDER.match(Path(folder).name)
    return int(match.group(1)) if match else -1


def checkpoint_folders(trial_dir: Path) -> list[Path]:
    """A trial's checkpoint folders, oldest first."""
    folders = [p for p in Path(trial_dir).glob("checkpoint_*") if p.is_dir() and checkpoint_index(p) >= 0]
    return sorted(folders, key=checkpoint_index)


def newest_whole_checkpoint(trial_dir: Path) -> SavedCheckpoint | None:
    """The newest checkpoint of a trial folder that a kill did not cut short, or ``None``."""
    for folder in reversed(checkpoint_folders(trial_dir)):
        saved = read_checkpoint(folder)
        if saved is not None:
            return saved
    return None


def training_state(models: Model | list[Model], epoch: int, best, best_epoch: int, carried: Mapping[str, Any]) -> dict:
    """What a checkpoint holds: weights, every optimizer and schedule (of each fold model), the best score so far."""
    models = models if isinstance(models, list) else [models]
    states = [model_state(m) for m in models]
    # A hold-out trial's one model keeps its keys at the top; fold models go under "folds".
    state = states[0] if len(states) == 1 else {"folds": states}
    state.update({"epoch": epoch, "best": best, "best_epoch": best_epoch, "carried": dict(carried),
                  # Dropout and augmentation draw from it: a resumed trial continues the same draws.
                  "torch_rng": torch.get_rng_state()})
    return state


def model_state(model: Model) -> dict:
    """One model's weights, optimizers and schedules."""
    state = {"network": model.network.state_dict(), "optimizer": model.optimizer.state_dict(),
             "optimizers": [o.state_dict() for o in model.optimizers[1:]]}
    schedules = [s.state_dict() if s is not None else None for s in model.schedulers]
    if any(s is not None for s in schedules):
        state["scheduler"], state["schedulers"] = schedules[0], schedules[1:]
    return state


def restore_from(checkpoint, models: list[Model], config: Mapping[str, Any]) -> tuple[int, Progress, np.ndarray | None, list | None]:
    """``(epochs done, progress, best validation outputs, best fold models)`` that a trial takes
    from the checkpoint Ray Tune hands it (``None``: a fresh start, ``(0, no best, None, None)``).

    A checkpoint says what it holds (the folder above). With training state, the
    ``models`` go on from it at the next epoch; without (an ensemble's or a bag's checkpoint,
    written at the best epoch only), the trial starts again from epoch 1 but keeps its best
    score, outputs and fold models so far, which a later epoch replaces only by beating them.
    A checkpoint whose files a kill cut short gives nothing: the trial starts afresh.
    """
    nothing = 0, Progress(0, None, 0), None, None
    if checkpoint is None:
        return nothing
    with checkpoint.as_directory() as folder:
        saved = read_checkpoint(folder)
        if saved is None:
            warnings.warn(f"the checkpoint {checkpoint.path} is not whole (cut short by a kill?): the trial starts afresh")
            return nothing
        first_epoch = restore_training_state(saved.training_state(), models, config) if saved.has_training_state else 0
        return first_epoch, saved.progress, saved.val_outputs(), saved.fold_models()


def restore_training_state(state: Mapping[str, Any], models: Model | list[Model], config: Mapping[str, Any]) -> int:
    """Load the weights and optimizer state of each fold model from a :func:`training_state`;
    the config's optimizer hyperparameters win (PBT mutates them). Returns the epochs it had done."""
    models = models if isinstance(models, list) else [models]
    saved_models = state.get("folds", [state])
    if len(saved_models) != len(models):
        raise RuntimeError(f"the checkpoint holds {len(saved_models)} fold model(s), this trial trains {len(models)}")
    for model, saved in zip(models, saved_models):
        restore_model(model, saved, config)
    if "torch_rng" in state:
        torch.set_rng_state(state["torch_rng"])
    return int(state["epoch"])


def restore_model(model: Model, state: Mapping[str, Any], config: Mapping[str, Any]) -> None:
    """One model's weights, optimizers and schedules from ``state``, with the config's optimizer hyperparameters."""
    model.network.load_state_dict(state["network"])
    for optimizer, saved in zip(model.optimizers, [state["optimizer"], *state.get("optimizers", [])]):
        optimizer.load_state_dict(saved)
    for schedule, saved in zip(model.schedulers, [state.get("scheduler"), *state.get("schedulers", [])]):
        if schedule is not None and saved is not None:
            schedule.load_state_dict(saved)
    _, opt_params = split_params(config["optimizer"])
    for optimizer in model.optimizers:
        for group in optimizer.param_groups:
            for key, value in opt_params.items():
                if key in group:
                    group[key] = value


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
