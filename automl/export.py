"""Export a saved artifact as a model that runs with torch alone: TorchScript or ``torch.export``.

``automl export ARTIFACT --format torchscript --output DIR`` writes two files. For a table:

- ``DIR/model.torchscript.pt`` (``torch.jit.load``), or ``DIR/model.pt2`` for
  ``--format torch-export`` (``torch.export.load(...).module()``): one module
  ``forward(numeric, categorical)`` that runs the fitted preprocessing *and* the network:

  - ``numeric``: float32 tensor ``(N, len(numeric_columns))``, raw values (booleans as 0/1),
    ``NaN`` where missing; the module adds the training missing indicators, imputes the
    training statistic, clips to the training quantiles (if the model was trained with
    clipping) and scales with the fitted scaler (standard, robust or min-max);
  - ``categorical``: int64 tensor ``(N, len(categorical_columns))`` of category codes: the
    position of the value (as a string) in that column's ``categories``, ``-2`` where
    missing (the module uses the training ``(missing)`` category, or all zeros where training
    had no missing values) and ``-1`` for a value unseen in training (all zeros, like the
    one-hot encoder);
  - returns class probabilities ``(N, n_classes)`` in the order of ``classes``, or
    predicted values ``(N, n_targets)`` in the target's units for regression.

- ``DIR/preprocessing.json``: the documented step that stays outside the module, turning a
  row into those two tensors: ``numeric_columns`` (of which ``boolean_columns`` hold
  true/false, yes/no or 1/0), ``categorical_columns``, each categorical column's
  ``categories``, plus ``classes`` (or ``target``), ``task`` and ``input_shape``.
  :func:`encode_rows` is that step in Python (numpy, torch, and pandas for convenience).

For images and sequences read as arrays (.npz, image folders) the module is ``forward(inputs)``:
raw float32 arrays ``(N, *input_shape)``, ``NaN`` where missing; it standardizes with the
training means and deviations and returns the same outputs; ``preprocessing.json`` holds the
task, ``input_shape`` and ``classes`` (or ``target``). Images from pixel columns
(``--image-shape``) export as tables.

An ensemble exports as one module too: it runs each member's own fitted preprocessing
(members may differ in imputer and scaler) on the same inputs and averages the members.

Text models, cluster and generate models, and tables with dates, free text or high-cardinality
(embedding) categories are refused: those steps are not in the module, and export says so,
naming the input kind, task or column (``automl predict`` and ``automl serve`` take them all).

TorchScript scripts the module. An architecture with Python-only code is traced instead, and a
trace records only the path its example inputs took, so the traced module is checked against
the saved model on varied sample rows and export is refused, naming why scripting failed and
how the trace differs, when they disagree (``captured_by`` in ``preprocessing.json`` says which
capture was used).

The exported module gives the same predictions as ``automl predict`` on the same rows (up to
float32 rounding); ``tests/test_export.py`` checks it.
"""

import json
import warnings
from pathlib import Path
from typing import Any, Callable, List

import numpy as np
import pandas as pd
import torch

from automl.errors import AutoMLError

FORMATS = {"torchscript": "model.torchscript.pt", "torch-export": "model.pt2"}
PREPROCESSING_FILE = "preprocessing.json"
# A traced module is checked on this many sample rows: not the 3 it was traced on, so a batch
# size frozen into the graph shows too.
CHECK_ROWS = 16
# How close a traced module's outputs must be to the saved model's (float32 arithmetic in another
# order): probabilities absolutely, values absolutely in standard deviations of the target.
ABSOLUTE_TOLERANCE = 1e-4
RELATIVE_TOLERANCE = 1e-3
MISSING_CODE = -2
# What preprocessing.json says of the rows → tensors step: the same for every member of an ensemble.
ENCODED_ROWS = ("numeric_columns", "boolean_columns", "categorical_columns", "categories")
UNKNOWN_CODE = -1


class FeatureEncoder(torch.nn.Module):
    """One fitted ``FeaturePreprocessor`` in torch (impute, clip, scale, missing indicators,
    one-hot), laying features out exactly as its ``transform`` does, shaped as the network's input."""

    category_sizes: List[int]  # typing.List: TorchScript does not read list[int] in class annotations
    input_shape: List[int]

    def __init__(self, steps: dict, input_shape: list[int]):
        super().__init__()
        self.register_buffer("fills", torch.tensor(steps["fills"], dtype=torch.float32))
        self.register_buffer("clip_lows", torch.tensor(steps["clip_lows"], dtype=torch.float32))
        self.register_buffer("clip_highs", torch.tensor(steps["clip_highs"], dtype=torch.float32))
        self.register_buffer("multipliers", torch.tensor(steps["multipliers"], dtype=torch.float32))
        self.register_buffer("offsets", torch.tensor(steps["offsets"], dtype=torch.float32))
        self.register_buffer("indicated", torch.tensor(steps["indicated"], dtype=torch.int64))
        self.register_buffer("fill_codes", torch.tensor(steps["fill_codes"], dtype=torch.int64))
        self.category_sizes = [len(c) for c in steps["categories"]]
        self.input_shape = list(input_shape)

    def forward(self, numeric: torch.Tensor, categorical: torch.Tensor) -> torch.Tensor:
        """The network's input for raw ``numeric`` features and ``categorical`` codes."""
        missing = torch.isnan(numeric)
        values = torch.where(missing, self.fills, numeric)
        values = torch.minimum(torch.maximum(values, self.clip_lows), self.clip_highs)
        parts = [values * self.multipliers + self.offsets, missing.index_select(1, self.indicated).to(torch.float32)]
        codes = torch.where(categorical == -2, self.fill_codes, categorical)  # -2: MISSING_CODE (TorchScript reads no globals)
        for j, size in enumerate(self.category_sizes):
            column = codes[:, j]
            one_hot = torch.nn.functional.one_hot(column.clamp(min=0), size).to(torch.float32)
            parts.append(one_hot * (column >= 0).to(torch.float32).unsqueeze(1))
        features = torch.cat(parts, dim=1)
        return features.reshape([features.shape[0]] + self.input_shape)


class ArrayEncoder(torch.nn.Module):
    """One fitted ``ArrayStandardizer`` in torch: the training mean and deviation per channel or
    feature, missing values to the training mean."""

    def __init__(self, features):
        super().__init__()
        shape = [1] * (len(features.input_shape_) + 1)
        shape[features.channel_axis] = -1
        self.register_buffer("mean", torch.tensor(features.mean_, dtype=torch.float32).reshape(shape))
        self.register_buffer("std", torch.tensor(features.std_, dtype=torch.float32).reshape(shape))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """The network's input for raw ``(N, *input_shape)`` float32 arrays."""
        return torch.nan_to_num((inputs - self.mean) / self.std, nan=0.0)


class ExportedModel(torch.nn.Module):
    """Fitted preprocessing + network + output decoding, in torch, for tables.

    A single model has one encoder; an ensemble has one per member (each member's own fitted
    pipeline) and its network reads their stacked outputs (``automl.ensemble.EnsembleNetwork``).
    """

    def __init__(self, network, encoders: list[torch.nn.Module], task: str, target_mean: float, target_std: float,
                 ensemble: bool = False):
        super().__init__()
        self.network = network
        self.encoders = torch.nn.ModuleList(encoders)
        self.ensemble = ensemble
        self.classification = task in ("binary", "multiclass")
        self.multilabel = task == "multilabel"
        self.target_mean = float(target_mean)
        self.target_std = float(target_std)

    def forward(self, numeric: torch.Tensor, categorical: torch.Tensor) -> torch.Tensor:
        """Class probabilities or target values for raw ``numeric`` features and ``categorical`` codes."""
        encoded: List[torch.Tensor] = []
        for encoder in self.encoders:
            encoded.append(encoder(numeric, categorical))
        return self.decode(encoded)

    def decode(self, encoded: List[torch.Tensor]) -> torch.Tensor:
        """Class probabilities, per-label probabilities (multilabel), or values in the target's
        units, for the members' encoded inputs."""
        outputs = self.network(torch.stack(encoded, dim=1) if self.ensemble else encoded[0])
        if self.multilabel:
            return torch.sigmoid(outputs)
        if self.classification:
            return torch.softmax(outputs, dim=1)
        return outputs * self.target_std + self.target_mean


class ExportedArrayModel(ExportedModel):
    """:class:`ExportedModel` for image and sequence arrays, an :class:`ArrayEncoder` per member."""

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Class probabilities or target values for raw ``(N, *input_shape)`` float32 arrays."""
        encoded: List[torch.Tensor] = []
        for encoder in self.encoders:
            encoded.append(encoder(inputs))
        return self.decode(encoded)


def check_exportable(predictor) -> None:
    """Refuse, by name, a task or input kind whose prediction steps the exported module does not hold."""
    from automl.data.text import TextTokenizer

    if predictor.task not in ("binary", "multiclass", "regression", "multilabel"):
        raise AutoMLError(
            f"cannot export a {predictor.task} model: export covers classification, multilabel and regression only",
            "use `automl predict` (cluster) or `automl sample` (generate) with the saved model",
        )
    if isinstance(predictor.features, TextTokenizer):
        raise AutoMLError(
            "cannot export a model of text inputs: tokenization is not in the exported module",
            "use `automl predict` or `automl serve` for this model",
        )


def preprocessing_steps(features) -> dict:
    """The fitted values of an artifact's ``FeaturePreprocessor``, as per-column vectors, or a
    clear error naming the first column export cannot reproduce in torch."""
    from automl.data.preprocess import MISSING_CATEGORY

    if not hasattr(features, "numeric_pipelines_"):
        raise AutoMLError("this artifact's preprocessing is not the FeaturePreprocessor export knows",
                          "use `automl predict` or `automl serve` for this model")
    for columns, what in ((features.datetime_columns_, "a date"), (features.text_columns_, "free text"),
                          (features.embedding_columns_, "a high-cardinality category (embedding codes)")):
        if columns:
            raise AutoMLError(
                f"cannot export column '{columns[0]}': it is {what}, which the exported module does not compute",
                "use `automl predict` or `automl serve` for this model, or retrain without that column",
            )
    steps = {"fills": [], "clip_lows": [], "clip_highs": [], "multipliers": [], "offsets": [], "indicated": []}
    for pipeline, group in zip(features.numeric_pipelines_, features.numeric_groups_):
        for key, values in _numeric_group_steps(pipeline, len(group)).items():
            steps[key] += values
    for indicator, group in zip(features.missing_indicators_, features.numeric_groups_):
        if indicator is not None:
            steps["indicated"] += [int(group[i]) for i in indicator.features_]
    categories = [[str(c) for c in features.one_hot_[column].categories_[0]] for column in features.categorical_columns_]
    # Missing is its own category where training had it; otherwise it is unseen (all zeros).
    steps["fill_codes"] = [cats.index(MISSING_CATEGORY) if MISSING_CATEGORY in cats else UNKNOWN_CODE for cats in categories]
    return {
        "numeric_columns": [column for column, _, _ in features.numeric_items_],
        "boolean_columns": list(features.boolean_columns_),
        "categorical_columns": list(features.categorical_columns_),
        "categories": categories,
        **steps,
    }


def _numeric_group_steps(pipeline, width: int) -> dict:
    """One numeric pipeline (impute → [clip] → [scale]) as fill values, clip bounds and
    ``x * multiplier + offset``, column by column."""
    from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

    from automl.data.preprocess import QuantileClipper

    named = dict(pipeline.steps)
    unknown = [type(step).__name__ for name, step in pipeline.steps if name not in ("impute", "clip", "scale")]
    if unknown or "impute" not in named:
        raise AutoMLError(f"cannot export a numeric pipeline with steps {[type(s).__name__ for _, s in pipeline.steps]}",
                          "use `automl predict` or `automl serve` for this model")
    ones, zeros = np.ones(width), np.zeros(width)
    low, high = np.full(width, -np.inf), np.full(width, np.inf)
    clipper = named.get("clip")
    if clipper is not None:
        if not isinstance(clipper, QuantileClipper):
            raise AutoMLError(f"cannot export the clipping step {type(clipper).__name__}", "use `automl predict` or `automl serve` for this model")
        low, high = np.asarray(clipper.low_, dtype=float), np.asarray(clipper.high_, dtype=float)
    scaler = named.get("scale")
    if scaler is None:
        multiplier, offset = ones, zeros
    elif isinstance(scaler, StandardScaler):
        center = scaler.mean_ if scaler.mean_ is not None else zeros
        scale = scaler.scale_ if scaler.scale_ is not None else ones
        multiplier, offset = 1 / scale, -center / scale
    elif isinstance(scaler, RobustScaler):
        center = scaler.center_ if scaler.with_centering else zeros
        scale = scaler.scale_ if scaler.with_scaling else ones
        multiplier, offset = 1 / scale, -center / scale
    elif isinstance(scaler, MinMaxScaler) and not scaler.clip:
        multiplier, offset = scaler.scale_, scaler.min_
    else:
        raise AutoMLError(f"cannot export the scaler {type(scaler).__name__}", "use `automl predict` or `automl serve` for this model")
    as_list = lambda values: [float(v) for v in np.asarray(values, dtype=float).reshape(width)]  # noqa: E731
    return {"fills": as_list(named["impute"].statistics_), "clip_lows": as_list(low), "clip_highs": as_list(high),
            "multipliers": as_list(multiplier), "offsets": as_list(offset)}


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
        module = ExportedArrayModel(predictor.network, [ArrayEncoder(features) for features in members], predictor.task,
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
        module = ExportedModel(predictor.network, encoders, predictor.task, target_mean, target_std, ensemble).eval()
        example = example_inputs(steps, rows=3)
        inputs = table_inputs(steps)
        rows = sample_table_rows(steps, CHECK_ROWS, seed=0)
        sample = (rows, encode_rows(rows, steps))
    tolerance = ABSOLUTE_TOLERANCE * (max(1.0, abs(float(target_std))) if predictor.task == "regression" else 1.0)
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
        **({"classes": [_plain(c) for c in encoder.classes_]} if predictor.task in ("binary", "multiclass", "multilabel")
           else {"target": predictor.target}),
    }
    (output / PREPROCESSING_FILE).write_text(json.dumps(info, indent=2))
    return path


def save_module(module: torch.nn.Module, example: tuple, fmt: str, path: Path,
                check: Callable[[torch.nn.Module], str] | None = None) -> str:
    """Capture ``module`` in ``fmt`` (:func:`capture_module`; without ``check``, a module that
    can only be traced is refused) and save it to ``path``, its folder made only then; return
    how it was captured."""
    captured, captured_by = capture_module(module, example, fmt, check)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "torchscript":
        torch.jit.save(captured, str(path))
    else:
        torch.export.save(captured, str(path))
    return captured_by


def capture_module(module: torch.nn.Module, example: tuple, fmt: str,
                   check: Callable[[torch.nn.Module], str] | None = None) -> tuple[Any, str]:
    """``(captured module, how it was captured)`` for ``fmt``, batch size free.

    TorchScript scripts the module; an architecture with Python-only code is traced instead,
    which records only the path ``example`` took through it (a branch on the data, a Python
    number computed from a tensor and a batch size baked in are all frozen). So a traced module
    is kept only when ``check`` finds no difference from the saved model (it returns ``""``),
    else (or with no ``check``) export is refused with both reasons: why scripting failed and
    how the trace differs.
    """
    if fmt == "torchscript":
        try:
            return torch.jit.script(module), "torch.jit.script"
        except Exception as exc:
            why_not_scripted = _first_line(exc).rstrip(":")
        with warnings.catch_warnings(record=True) as traced_warnings:
            warnings.simplefilter("always", torch.jit.TracerWarning)
            try:
                traced = torch.jit.trace(module, example)
            except Exception as exc:
                raise AutoMLError(f"TorchScript can neither script this architecture ({why_not_scripted}) nor trace it "
                                  f"({_first_line(exc)})", "use --format torch-export, or `automl predict` / `automl serve`") from None
        difference = check(traced) if check is not None else "was not checked against the saved model"
        if difference:
            hints = [str(w.message).splitlines()[0] for w in traced_warnings if issubclass(w.category, torch.jit.TracerWarning)]
            hint = f"; the tracer warned: {hints[0]}" if hints else ""
            raise AutoMLError(
                f"cannot export this architecture to TorchScript: scripting fails ({why_not_scripted}) and the traced "
                f"module {difference}{hint}",
                "use --format torch-export, or `automl predict` / `automl serve` for this model",
            )
        return traced, "torch.jit.trace"
    batch = torch.export.Dim("batch", min=1)
    try:
        program = torch.export.export(module, example, dynamic_shapes=tuple({0: batch} for _ in example))
    except Exception as exc:
        raise AutoMLError(
            f"torch.export cannot capture this architecture: {type(exc).__name__}: {str(exc).splitlines()[0]}",
            "use --format torchscript",
        ) from None
    return program, "torch.export"


def predictor_difference(captured, predictor, rows, inputs: tuple, tolerance: float) -> str:
    """How ``captured`` (called on ``inputs``, the module's tensors for ``rows``) differs from
    what ``predictor`` answers for ``rows`` (class probabilities, or values), or ``""``."""
    try:
        with torch.no_grad():
            got = np.asarray(captured(*inputs), dtype=np.float64)
    except Exception as exc:
        return f"fails on {len(rows)} sample rows: {_first_line(exc)}"
    task = predictor.task_impl
    expected = predictor.predict_proba(rows) if task is not None and task.has_probabilities else predictor.predict(rows)
    got, expected = got.reshape(len(got), -1), np.asarray(expected, dtype=np.float64).reshape(len(expected), -1)
    if got.shape != expected.shape:
        return f"returns outputs of shape {got.shape} for {len(rows)} sample rows, where `automl predict` gives {expected.shape}"
    apart = ~np.isclose(got, expected, rtol=RELATIVE_TOLERANCE, atol=tolerance).all(axis=1)
    if apart.any():
        gap = np.nanmax(np.where(np.isnan(got - expected), np.inf, np.abs(got - expected)))
        return (f"gives other outputs than `automl predict` on {apart.sum()} of {len(rows)} sample rows "
                f"(largest difference {gap:.3g})")
    return ""


def sample_table_rows(steps: dict, rows: int, seed: int) -> pd.DataFrame:
    """``rows`` varied raw rows for a table model: numbers spread around each column's training
    fill value by its fitted scale (one row all missing), booleans 0/1, categories drawn from the
    training ones (with a missing and an unseen value); seeded."""
    from automl.data.preprocess import MISSING_CATEGORY

    rng = np.random.default_rng(seed)
    frame = {}
    booleans = set(steps["boolean_columns"])
    for j, column in enumerate(steps["numeric_columns"]):
        if column in booleans:
            values = rng.integers(0, 2, rows).astype(float)
        else:
            multiplier = abs(steps["multipliers"][j])
            spread = 1.0 / multiplier if np.isfinite(multiplier) and multiplier > 0 else 1.0
            values = steps["fills"][j] + spread * rng.standard_normal(rows)
        values[0] = np.nan
        frame[column] = values
    for column, categories in zip(steps["categorical_columns"], steps["categories"]):
        seen = [c for c in categories if c != MISSING_CATEGORY] or [None]
        values = rng.choice(np.array(seen, dtype=object), rows).astype(object)
        values[0], values[1 % rows] = None, "(a value unseen in training)"
        frame[column] = values
    return pd.DataFrame(frame)


def sample_arrays(features, rows: int, seed: int) -> np.ndarray:
    """``rows`` varied float32 arrays of the training shape, spread around each channel's
    training mean by its deviation (a few values missing); seeded."""
    rng = np.random.default_rng(seed)
    shape = [1] * (len(features.input_shape_) + 1)
    shape[features.channel_axis] = -1
    mean, std = features.mean_.reshape(shape), features.std_.reshape(shape)
    arrays = (mean + std * rng.standard_normal((rows, *features.input_shape_))).astype(np.float32)
    arrays.reshape(rows, -1)[0, ::7] = np.nan
    return arrays


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def table_inputs(steps: dict) -> dict:
    """``preprocessing.json``'s account of a table model's ``forward(numeric, categorical)``."""
    return {
        "how": ("numeric: float32 (N, len(numeric_columns)), booleans as 0/1, NaN where missing; categorical: int64 "
                "(N, len(categorical_columns)), the index of str(value) in categories[j], -2 if missing, "
                "-1 if unseen; output: class probabilities in the order of classes, or target values"),
        **{key: steps[key] for key in ENCODED_ROWS},
    }


def array_inputs(features) -> dict:
    """``preprocessing.json``'s account of an image or sequence model's ``forward(inputs)``."""
    info = {"how": ("inputs: float32 (N, *input_shape), raw values as `automl predict` reads them, NaN where missing; "
                    "output: class probabilities in the order of classes, or target values")}
    if features.columns is not None:
        info["time_step_columns"] = list(features.columns)  # a wide table's columns, in time order
    return info


def example_inputs(steps: dict, rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Valid example tensors (training fill values and missing codes) for tracing and export."""
    numeric = torch.tensor([steps["fills"]] * rows, dtype=torch.float32).reshape(rows, len(steps["fills"]))
    categorical = torch.full((rows, len(steps["fill_codes"])), MISSING_CODE, dtype=torch.int64)
    return numeric, categorical


def encode_rows(frame: pd.DataFrame, preprocessing: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """The documented step outside the exported module: rows → ``(numeric, categorical)`` tensors."""
    from automl.data.preprocess import to_booleans, to_numbers

    missing = [c for c in preprocessing["numeric_columns"] + preprocessing["categorical_columns"] if c not in frame.columns]
    if missing:
        raise AutoMLError(f"required column '{missing[0]}' is missing from the data", "add that column")
    booleans = set(preprocessing.get("boolean_columns", []))
    numeric = np.empty((len(frame), len(preprocessing["numeric_columns"])), dtype=np.float32)
    for j, column in enumerate(preprocessing["numeric_columns"]):
        numeric[:, j] = (to_booleans if column in booleans else to_numbers)(frame[column], column)
    codes = np.empty((len(frame), len(preprocessing["categorical_columns"])), dtype=np.int64)
    for j, (column, categories) in enumerate(zip(preprocessing["categorical_columns"], preprocessing["categories"])):
        index = {c: i for i, c in enumerate(categories)}
        codes[:, j] = [MISSING_CODE if pd.isna(v) else index.get(str(v), UNKNOWN_CODE) for v in frame[column]]
    return torch.from_numpy(numeric), torch.from_numpy(codes)


def _plain(value):
    return value.item() if hasattr(value, "item") else value
