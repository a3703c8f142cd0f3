"""Load a saved artifact and predict on new data."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from automl.errors import AutoMLError
from automl.fitted_state import PREPROCESSING_FILE, load_preprocessing, refuse_pickled_preprocessing
from automl.run_directory import RunDirectory
from automl.tasks.ensemble import build_ensemble_network, member_inputs
from automl.training.building import build_network
from automl.training.loop import predict_outputs
from automl.training.records import Components, DataFacts

REQUIRED_FILES = ("manifest.json", "model.json", "weights.pt", PREPROCESSING_FILE)


class Predictor:
    """A trained model with its fitted preprocessing: ``predict(frame)`` returns labels or values.

    An ensemble's predictor has ``member_features``, each member's fitted pipeline in member
    order: every member reads the rows as its own pipeline encodes them (``features`` is the
    first member's, for the column checks of serve and export).
    """

    def __init__(self, network, features, target_encoder, info: dict, member_features: list | None = None,
                 task_impl=None) -> None:
        self.network = network
        self.features = features
        self.target_encoder = target_encoder
        self.info = info
        self.task = info["task"]
        self.target = info["target"]
        self.member_features = member_features
        # The task (an automl.tasks.base.Task) that turns outputs into predictions.
        self.task_impl = task_impl

    def _outputs(self, data) -> np.ndarray:
        frame = data if isinstance(data, (pd.DataFrame, np.ndarray)) else pd.DataFrame(data)
        if self.member_features is None:
            matrix = self._model_input(self.features, frame)
        else:
            matrix = member_inputs([self._model_input(features, frame) for features in self.member_features])
        return predict_outputs(self.network, matrix, torch.device("cpu"))

    def _model_input(self, features, frame) -> np.ndarray:
        matrix = features.transform(frame)
        return matrix.reshape((len(matrix), *self.info["input_shape"]))

    def predict(self, data) -> np.ndarray:
        """Class labels (classification) or values in the target's units (regression)."""
        return self.task_impl.predictions(self._outputs(data), self.target_encoder)

    def predict_proba(self, data) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        if not self.task_impl.has_probabilities:
            raise AutoMLError(f"predict_proba needs a classification model, this one does {self.task}", "use predict")
        return self.task_impl.probabilities(self._outputs(data))

    @property
    def classes_(self) -> np.ndarray:
        """The class labels, in the order of ``predict_proba``'s columns."""
        return self.target_encoder.classes_

    def predict_frame(self, data) -> pd.DataFrame:
        """Predictions as a DataFrame, the columns the task names (``Task.prediction_columns``):
        the prediction column, plus class probabilities."""
        return pd.DataFrame(self.task_impl.prediction_columns(self._outputs(data), self.target_encoder, self.target))


def verify_manifest(path: Path) -> None:
    """Raise an :class:`AutoMLError` unless every artifact file is present and matches its checksum."""
    refuse_pickled_preprocessing(path)
    for name in REQUIRED_FILES:
        if not (path / name).is_file():
            raise AutoMLError(f"{path} is not a complete automl artifact: {name} is missing", "pass the model/ folder of a finished run")
    manifest = json.loads((path / "manifest.json").read_text())["sha256"]
    for name, digest in manifest.items():
        actual = hashlib.sha256((path / name).read_bytes()).hexdigest()
        if actual != digest:
            raise AutoMLError(f"artifact file {path / name} does not match its checksum in manifest.json", "re-save or re-download the artifact; do not load files that were changed")


def load(path, registry=None, disabled=()) -> Predictor:
    """Load an artifact folder (a run's ``model/``, or the run directory itself).

    Only the plugins that provide the components the model needs to predict are imported
    (see :mod:`automl.requirements`); ``disabled`` names plugins to skip as ``--disable-plugin``
    does, and ``registry`` (e.g. with plugins registered in code) replaces that loading.
    """
    from automl.requirements import prediction_components

    path = Path(path)
    if not path.exists():
        raise AutoMLError(f"artifact {path} does not exist", "pass the model/ folder of a finished run")
    if RunDirectory(path).model_dir.is_dir() and not (path / "model.json").exists():
        path = RunDirectory(path).model_dir
    verify_manifest(path)
    info = json.loads((path / "model.json").read_text())
    components, config, task = prediction_components(info, disabled, registry)
    if "ensemble" in config:
        network = build_ensemble_network(config, task.is_classification, lambda member: _build_network(member, components, info, task))
    else:
        network = _build_network(config, components, info, task)
    network.load_state_dict(torch.load(path / "weights.pt", weights_only=True, map_location="cpu"))
    network.eval()
    preprocessing = load_preprocessing(path)  # never unpickles: see automl.fitted_state
    member_features = preprocessing["member_features"] if "ensemble" in config else None
    return task.predictor(network, preprocessing, info, member_features)


def _build_network(config: dict, components: Components, info: dict, task):
    facts = DataFacts.of_model(info, task)
    network, _ = build_network(config, components, info["input_shape"], info["output_size"], facts.for_builders())
    return network
