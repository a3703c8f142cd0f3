"""Saved artifacts built in-process for the export and serve tests: the real refit and save
code on tiny data, without a search (the search is tested elsewhere)."""

from __future__ import annotations

from pathlib import Path

from automl.components import FAMILIES
from automl.config import DataConfig
from automl.data import prepare_data
from automl.engine.trial_records import TrialRecord
from automl.registry import load_registry
from automl.refit import refit_and_test
from automl.training.records import Components

# For an `automl search` subprocess of a test not about validation or ensembles: the costs and
# leaderboards from before cross-validation (in-process searches get them from tests/conftest.py).
HOLDOUT_NO_ENSEMBLE = ("--validation", "holdout", "--ensemble", "0")


def mlp_config(task: str, seed: int = 0, dropout: bool = True) -> dict:
    """A small MLP trial config for ``task``."""
    loss = {"name": "mse"} if task == "regression" else {"name": "cross_entropy", "label_smoothing": 0.0}
    return {
        "seed": seed, "epochs": 6, "batch_size": 32,
        "architecture": {"name": "mlp", "depth": 2, "width": 16, "activation": "relu", "normalization": "batch"},
        "loss": loss, "optimizer": {"name": "adam", "lr": 0.01, "beta1": 0.9},
        "regularizers": {"dropout": {"enabled": dropout, "p": 0.1}, "l2": {"enabled": False, "strength": 1e-4}},
    }


def prepare(frame, target: str | None, variants: list[dict] | None = None, registry=None, **data_options):
    """Prepared data and every installed component (or every one of ``registry``), as the
    search would see them (``variants``: the preprocessing choices to fit, as a space's
    ``preprocessing`` block asks; ``data_options``: further DataConfig fields, e.g. ``scaler="robust"``)."""
    prepared = prepare_data(frame, DataConfig(target=target, **data_options), variants)
    registry = registry or load_registry()
    components = Components.of(registry, {family: [c.key for c in registry.list(family)] for family in FAMILIES})
    return prepared, components


def build_artifact(frame, target: str | None, out_dir: Path, seed: int = 0, architecture: dict | None = None,
                   registry=None, **data_options) -> Path:
    """Refit a fixed MLP (or ``architecture``, from ``registry`` if given) on train+val, test it
    once and save it: a real artifact folder. ``frame`` is anything ``prepare_data`` reads (a
    table, an .npz path...)."""
    prepared, components = prepare(frame, target, registry=registry, **data_options)
    config = mlp_config(prepared.task, seed)
    if architecture is not None:
        config["architecture"] = architecture
    record = TrialRecord("t0", config, {"best_epoch": 6}, "completed")
    return refit_and_test(record, prepared, components, Path(out_dir)).artifact_dir


def two_scaler_space(epochs: int) -> str:
    """A space of two fixed regression MLPs that differ only in their scaler (``--searcher grid``
    tries both): they err differently, so their average beats either."""
    return (
        f"epochs: {epochs}\nbatch_size: 32\npreprocessing:\n  scaler: {{grid: [standard, robust]}}\n"
        "architectures:\n  include: [mlp]\n  mlp: {depth: 2, width: 64, activation: relu, normalization: none}\n"
        "optimizers:\n  include: [adam]\n  adam: {lr: 0.03, beta1: 0.9, schedule: constant, warmup: 0.0}\n"
        "losses:\n  include: [mse]\nregularizers:\n  include: []\n"
    )
