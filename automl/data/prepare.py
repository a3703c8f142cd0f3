"""Turn a loaded dataset into the arrays the trials train on, without leaking evaluation rows.

load → validate → the target (one column, several 0/1 columns, or none: ``Task.target_kind``) → infer task → split (and, with cross-validation, fold the training rows) → choose the view of a table (features or series, see
``automl/data/layout.py``) → profile the training rows → fit preprocessing on the training rows (one variant per imputer × scaler the search space asks for) → arrays.
One path for every task: profiling, the preprocessing fit, the image-shape check and the data report happen once, here.

Input kinds and their arrays: ``tabular`` (N, F) float32; ``image`` (N, C, H, W) float32;
``sequence`` (N, T, F) float32; ``text`` (N, T) int64 token ids (0 = padding).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Mapping

import numpy as np
import pandas as pd

from automl.config import DataConfig
from automl.data.arrays import ArrayStandardizer, wide_table_to_sequences
from automl.data.columns import ColumnSpace
from automl.data.layout import InputView, choose_view
from automl.data.load import BUILTIN_DATASETS, BUILTIN_TARGET, RawData, load_data
from automl.data.folds import fold_count, fold_indices
from automl.data.prepared import Fold, PreparedData, PreprocessingVariant, preview_columns
from automl.data.preprocess import FeaturePreprocessor, LabelSetEncoder, TargetEncoder
from automl.data.profile import RowView, as_pixels, decisions_as_dicts, parse_datetimes, profile_columns
from automl.data.summary import build_report
from automl.data.split import split_rows
from automl.data.task import NO_TARGET, ONE_COLUMN, SEVERAL_COLUMNS, infer_task, registered_tasks
from automl.data.text import TextTokenizer
from automl.data.unlabelled import NoTarget
from automl.variants import DEFAULT_VARIANT, variant_key
from automl.data.weights import class_weights
from automl.errors import AutoMLError

ARRAY_TARGET = "label"


def prepare_data(source, config: DataConfig, variants: list[dict] | None = None,
                 tasks: Mapping[str, Any] | None = None) -> PreparedData:
    """Load, validate, infer the task, split, and fit preprocessing on the training split only.

    One path for every task, whatever its target (``Task.target_kind``): one column, several
    0/1 columns (``--target a,b,c``), or none (every column is a feature; a ``--target`` column,
    or a built-in dataset's label, is set aside unused so that known labels never leak into
    clustering or generation). ``variants`` lists the preprocessing choices
    (``{"imputer": .., "scaler": ..}``) to fit for tabular input; the first one is the default.
    ``tasks``: the registered tasks by name (the search's registry; default: the installed
    plugins'), whose ``target_kind``, ``is_classification`` and ``makes_rows`` decide how the
    data is prepared. Every check runs before anything is written.

    Without a target the rows are read as a table with one preprocessing (the data config's)
    and no folds: the models reconstruct or generate rows in that one encoding (``makes_rows``:
    it must map back to the columns, checked here), and there is nothing to validate out of fold.
    """
    tasks = registered_tasks() if tasks is None else tasks
    raw = _tabular_arrays_as_table(load_data(source, config.delimiter))
    target = _target_of(raw, source, config, tasks)
    frame, n_missing_target = _table_with_target(raw, target)
    test_frame = _test_frame(raw, frame, target, config) if config.test_data is not None else None
    task = infer_task(frame[target.columns[0]], config.task, tasks) if target.kind == ONE_COLUMN else target.task
    classification = tasks[task].is_classification
    supervised = target.kind != NO_TARGET

    groups = _special_column(frame, config.group_column, "--group-column", target.columns)
    times = _time_values(_special_column(frame, config.time_column, "--time-column", target.columns))
    stratify_on = frame[target.columns[0]] if target.kind == ONE_COLUMN else pd.Series(np.zeros(len(frame)), name="row")
    splits = split_rows(stratify_on, classification, config.val_fraction, config.test_fraction, config.seed, groups, times,
                        test_frame is not None)
    used_for_split = [c for c in (config.group_column, config.time_column) if c]
    features = frame.drop(columns=[*target.columns, *used_for_split])
    if features.shape[1] == 0:
        raise AutoMLError("the data has no feature columns" + (" besides the target" if supervised else ""), "add feature columns")

    train_rows, val_rows = splits.train, splits.val
    n_folds = fold_count(config.validation, len(train_rows) + len(val_rows)) if supervised else 0
    if n_folds:  # the test split stays; the folds divide train ∪ val
        train_rows, val_rows = np.sort(np.concatenate([train_rows, val_rows])), val_rows[:0]
    if test_frame is not None:
        all_features = pd.concat([features, test_frame.drop(columns=[*target.columns, *used_for_split])], ignore_index=True)
        all_target = pd.concat([target.values(frame), target.values(test_frame)], ignore_index=True)
        test_rows = np.arange(len(frame), len(all_features))
    else:
        all_features, all_target, test_rows = features, target.values(frame), splits.test
    target_encoder = target.fit_encoder(task, classification, all_target.iloc[train_rows])
    y = {name: target_encoder.encode(all_target.iloc[rows]) for name, rows in (("train", train_rows), ("val", val_rows), ("test", test_rows))}

    kind = _input_kind(raw, config)
    decisions: list = []
    view = InputView(kind)
    if kind == "arrays":
        fitted = _fit_arrays(raw, config, all_features, train_rows)
    else:
        train = RowView(all_features, train_rows)
        if not supervised:
            kind = "tabular"
        elif raw.array_kind != "tabular" and not config.image_shape:  # 2-D arrays and pixel columns stay tables
            view = choose_view(train, config.input_kind)
            kind = view.kind
        decisions = profile_columns(train)
        if config.image_shape:
            decisions = as_pixels(decisions)
        fitted = _fit_table(train, decisions, config, variants if supervised else None, kind)
    if n_folds and fitted.input_kind == "text":
        if config.validation != "auto":
            raise AutoMLError(f"--validation {config.validation} does not work with text input: each fold would learn its own "
                              "vocabulary", "use --validation holdout")
        return prepare_data(source, replace(config, validation="holdout"), variants, tasks)
    rows = {"train": train_rows, "val": val_rows, "test": test_rows}
    fitted_variants = {
        key: PreprocessingVariant(key, pre, *(transform(pre, all_features, raw, rows[s], fitted.input_shape) for s in ("train", "val", "test")))
        for key, pre in fitted.preprocessors.items()
    }
    default = next(iter(fitted_variants.values()))
    column_space = None
    if not supervised:
        if tasks[task].makes_rows:
            default.features.check_invertible()  # before any training: generated rows must map back to columns
        column_space = ColumnSpace.fit(all_features.iloc[train_rows], default.features)
    folds = []
    if n_folds:
        positions = fold_indices(all_target.iloc[train_rows], classification, n_folds, config.seed,
                                 None if groups is None else groups.iloc[train_rows],
                                 None if times is None else times.iloc[train_rows], explicit=config.validation != "auto")
        folds = [_fit_fold(fit, val, train_rows, test_rows, all_features, all_target, raw, config, variants, decisions, kind,
                           fitted, target_encoder)
                 for fit, val in positions]
    weights = _class_weights(y["train"], target_encoder, config.class_weights)
    report = build_report(
        name=raw.name, raw=raw, rows=len(frame), n_missing_target=n_missing_target, task=task, input_kind=fitted.input_kind,
        input_shape=fitted.input_shape, decisions=decisions_as_dicts(decisions), used_for_split=used_for_split,
        splits={"train": len(train_rows), "val": len(val_rows), "test": len(test_rows)},
        split_method=splits.method + (" (test rows from --test-data)" if test_frame is not None else "")
        + (f"; {len(folds)}-fold cross-validation of the training rows" if folds else ""),
        preprocessing={k: v.features.summary() for k, v in fitted_variants.items()},
        class_weights=None if weights is None else {str(c): round(float(w), 4) for c, w in zip(target_encoder.classes_, weights)},
        class_weights_in_folds=bool(folds) and weights is not None,
        input_view=view.reason, target_columns=target.report(),
    )
    return PreparedData(
        raw.name, task, fitted.input_kind, fitted.input_shape, target.name,
        default.X_train, y["train"], default.X_val, y["val"], default.X_test, y["test"],
        default.features, target_encoder, report,
        variants=fitted_variants if fitted.input_kind == "tabular" and supervised else {},
        vocab_size=fitted.vocab_size, embedding_cardinalities=fitted.embedding_cardinalities, class_weights=weights,
        column_space=column_space, folds=folds, task_output_size=tasks[task].output_size(target_encoder.output_size),
    )


@dataclass(frozen=True)
class _Target:
    """What the rows are learnt against (``Task.target_kind``) and the columns that hold it: the
    one target column, the 0/1 label columns, or (no target) the columns set aside unused.
    ``task``: the task that several or no target columns imply (one column: inferred from it)."""

    kind: str
    columns: tuple[str, ...]
    task: str | None = None

    @property
    def name(self) -> str:
        """The target as a model folder records it: a column, ``"a,b,c"``, or the set-aside column(s)."""
        return ",".join(self.columns)

    def values(self, frame: pd.DataFrame) -> pd.Series | pd.DataFrame:
        """The target of a table's rows: a Series for one column, else a frame (no columns without a target)."""
        if self.kind == ONE_COLUMN:
            return frame[self.columns[0]]
        return frame[list(self.columns) if self.kind == SEVERAL_COLUMNS else []]

    def fit_encoder(self, task: str, classification: bool, train_values):
        """The encoder of this target, fitted on the training rows' ``values``."""
        if self.kind == SEVERAL_COLUMNS:
            return LabelSetEncoder().fit(train_values)
        if self.kind == NO_TARGET:
            return NoTarget()
        return TargetEncoder(task).fit(train_values, by_class=classification)

    def report(self) -> dict:
        """The data report's entry on the target columns, where the report does not say it already."""
        if self.kind == SEVERAL_COLUMNS:
            return {"targets": list(self.columns)}
        if self.kind == NO_TARGET:
            return {"column_set_aside": self.name or None}
        return {}


def _target_of(raw: RawData, source, config: DataConfig, tasks: Mapping[str, Any]) -> _Target:
    """The target that ``--task`` and ``--target`` name: a task whose target is several columns
    or none, asked for, or several columns given (``--target a,b,c``, no ``--task``: the first
    task that takes several); else one column, by default a built-in dataset's label or ``label``
    of arrays."""
    requested = tasks.get(config.task) if config.task is not None else None
    several = [name for name, task in tasks.items() if task.target_kind == SEVERAL_COLUMNS]
    labels_given = config.task is None and "," in (config.target or "") and several
    if labels_given or (requested is not None and requested.target_kind != ONE_COLUMN):
        name, kind = (config.task, requested.target_kind) if requested is not None else (several[0], SEVERAL_COLUMNS)
        if raw.frame is None:
            raise AutoMLError(f"task {name} needs a table", "pass a CSV, Parquet or JSON Lines file or a DataFrame")
        given = config.target
        if kind == NO_TARGET and given is None and BUILTIN_TARGET in raw.frame.columns and isinstance(source, str):
            given = BUILTIN_TARGET
        columns = tuple(given.split(",")) if given else ()
        for column in columns:
            if column not in raw.frame.columns:
                raise AutoMLError(f"column '{column}' is not in the data", f"use one of: {preview_columns(raw.frame.columns)}")
        if kind == SEVERAL_COLUMNS and len(columns) < 2:
            raise AutoMLError(f"task {name} needs two or more target columns", "pass --target a,b,c")
        return _Target(kind, columns, name)
    default = BUILTIN_TARGET if isinstance(source, str) and source in BUILTIN_DATASETS else None
    if not raw.is_table or raw.array_kind == "tabular":
        default = ARRAY_TARGET
    column = config.target or default
    if raw.is_table and column is None:
        raise AutoMLError("no target column given", f"pass --target with one of: {preview_columns(raw.frame.columns)}")
    return _Target(ONE_COLUMN, (column if raw.is_table else ARRAY_TARGET,))


def _fit_fold(fit: np.ndarray, val: np.ndarray, train_rows: np.ndarray, test_rows: np.ndarray, all_features: pd.DataFrame,
              all_target: pd.Series, raw: RawData, config: DataConfig, variants, decisions, kind: str, whole: "_Fitted",
              whole_target: TargetEncoder) -> Fold:
    """One fold: its preprocessing fitted on its fit rows only (the matrix layout from all
    training rows, see :meth:`FeaturePreprocessor.fit`), applied to its fit, validation and test
    rows; its target encoding and class weights fitted on its fit rows only too."""
    fit_rows, val_rows = train_rows[fit], train_rows[val]
    target_encoder = whole_target.for_fold(all_target.iloc[fit_rows])
    y_fit = target_encoder.encode(all_target.iloc[fit_rows])
    if kind == "arrays":
        fitted = _fit_arrays(raw, config, all_features, fit_rows)
    else:
        layout = RowView(all_features, train_rows)
        fitted = _fit_table(RowView(all_features, fit_rows), decisions, config, variants, whole.input_kind, layout)
    fold_variants = {
        key: PreprocessingVariant(key, pre, *(transform(pre, all_features, raw, r, whole.input_shape) for r in (fit_rows, val_rows, test_rows)))
        for key, pre in fitted.preprocessors.items()
    }
    return Fold(fit, val, fold_variants, target_encoder, y_fit, target_encoder.encode(all_target.iloc[val_rows]),
                _class_weights(y_fit, target_encoder, config.class_weights), target_encoder.output_map_to(whole_target))


def _class_weights(y: np.ndarray, target_encoder: TargetEncoder, mode: str) -> np.ndarray | None:
    """The ``--class-weights`` vector of the rows whose encoded targets are ``y`` (classification only)."""
    if not target_encoder.by_class:
        return None
    return class_weights(y, target_encoder.output_size, mode)


@dataclass
class _Fitted:
    input_kind: str
    input_shape: tuple[int, ...]
    preprocessors: dict[str, Any]
    vocab_size: int | None = None
    embedding_cardinalities: tuple[int, ...] = ()


def _table_with_target(raw: RawData, target: _Target, where: str = "the data") -> tuple[pd.DataFrame, int]:
    """A table holding the features and the target column(s); with one target column, rows
    whose target is missing are dropped (and counted)."""
    if raw.is_table:
        frame = raw.frame
        if target.kind != ONE_COLUMN:
            return frame, 0
        column = target.columns[0]
        if column not in frame.columns:
            raise AutoMLError(f"target column '{column}' is not in {where}", f"use one of: {preview_columns(frame.columns)}")
    else:
        if raw.y is None:
            raise AutoMLError(f"{raw.name} has no labels", "save y in the .npz, or use a folder with one subfolder per class")
        column = ARRAY_TARGET
        # Arrays stay out of the frame: it carries only the labels and row positions.
        frame = pd.DataFrame({"_row": np.arange(len(raw.X)), column: raw.y})
    missing = frame[column].isna().to_numpy()
    n_missing = int(missing.sum())
    if n_missing == len(frame):
        raise AutoMLError(f"target column '{column}' is empty in {where}", "choose a target column that holds values")
    if n_missing:
        frame = frame.loc[~missing].reset_index(drop=True)
        if not raw.is_table:
            raw.X = raw.X[~missing]
            frame["_row"] = np.arange(len(frame))
    return frame, n_missing


def _test_frame(raw: RawData, frame: pd.DataFrame, target: _Target, config: DataConfig) -> pd.DataFrame:
    """The rows of ``--test-data`` with the training table's columns (arrays are appended to ``raw.X``)."""
    test_raw = _tabular_arrays_as_table(load_data(config.test_data, config.delimiter))
    if test_raw.is_table != raw.is_table:
        raise AutoMLError("--test-data is not the same kind of data as the training data", "pass a test file of the same format")
    test_frame, _ = _table_with_target(test_raw, target, where="--test-data")
    if not raw.is_table:
        if test_raw.X.shape[1:] != raw.X.shape[1:]:
            raise AutoMLError(
                f"--test-data arrays have shape {test_raw.X.shape[1:]} but the training arrays {raw.X.shape[1:]}",
                "pass test data of the training shape",
            )
        raw.X = np.concatenate([raw.X, test_raw.X])
    missing = [c for c in frame.columns if c not in test_frame.columns]
    if missing:
        raise AutoMLError(f"--test-data lacks column '{missing[0]}'", "pass a test file with the training file's columns")
    return test_frame[list(frame.columns)]


def _time_values(times: pd.Series | None) -> pd.Series | None:
    """The time column as numbers or datetimes (date strings parsed)."""
    if times is None or pd.api.types.is_numeric_dtype(times) or pd.api.types.is_datetime64_any_dtype(times):
        return times
    parsed = parse_datetimes(times)
    if parsed.isna().sum() > times.isna().sum():
        raise AutoMLError(f"time column '{times.name}' holds values that are not dates or numbers", "pass a column of dates or numbers")
    return parsed


def _tabular_arrays_as_table(raw: RawData) -> RawData:
    """2-D arrays are a table with columns x0, x1, … (and the labels in column ``label``)."""
    if raw.is_table or raw.array_kind != "tabular":
        return raw
    frame = pd.DataFrame(raw.X, columns=[f"x{i}" for i in range(raw.X.shape[1])])
    if raw.y is not None:
        frame[ARRAY_TARGET] = raw.y
    return RawData(raw.name, frame=frame, array_kind="tabular")


def _special_column(frame: pd.DataFrame, column: str | None, flag: str, targets: tuple[str, ...]) -> pd.Series | None:
    if column is None:
        return None
    if column not in frame.columns or column in targets:
        raise AutoMLError(f"{flag} '{column}' is not a feature column of the data",
                          f"use one of: {preview_columns(frame.columns.drop(list(targets)))}")
    return frame[column]


def _input_kind(raw: RawData, config: DataConfig) -> str:
    if not raw.is_table:
        if config.input_kind not in (None, raw.array_kind):
            raise AutoMLError(f"--input-kind {config.input_kind} does not fit {raw.array_kind} arrays", "leave --input-kind out for arrays")
        return "arrays"
    return config.input_kind or "auto"


def _fit_arrays(raw: RawData, config: DataConfig, features: pd.DataFrame, train_rows: np.ndarray) -> _Fitted:
    standardizer = ArrayStandardizer(raw.array_kind).fit(raw.X[train_rows].astype(np.float32))
    return _Fitted(raw.array_kind, tuple(raw.X.shape[1:]), {DEFAULT_VARIANT: standardizer})


def _fit_table(train: RowView, decisions, config: DataConfig, variants, kind: str, layout: RowView | None = None) -> _Fitted:
    text_columns = [d.column for d in decisions if d.kind == "text"]
    kept = [d for d in decisions if d.kept]
    if kind == "sequence":
        columns = [str(c) for c in train.columns]
        standardizer = ArrayStandardizer("sequence", columns).fit(wide_table_to_sequences(train.frame.iloc[train.rows]))
        return _Fitted("sequence", (len(columns), 1), {DEFAULT_VARIANT: standardizer})
    if kind == "text" or (kind == "auto" and len(kept) == 1 and text_columns):
        if not text_columns:
            raise AutoMLError("--input-kind text needs a free-text column, and none was found", "pass a table with a text column")
        tokenizer = TextTokenizer(text_columns[0]).fit(train[text_columns[0]])
        return _Fitted("text", (tokenizer.max_length_,), {DEFAULT_VARIANT: tokenizer}, vocab_size=tokenizer.vocab_size)
    preprocessors = {}
    for choice in variants or [{}]:
        pre = FeaturePreprocessor(choice.get("imputer", config.imputer), choice.get("scaler", config.scaler), config.clip_quantile)
        preprocessors[variant_key({"imputer": pre.imputer, "scaler": pre.scaler})] = pre.fit(train, decisions, layout)
    width = next(iter(preprocessors.values())).output_width
    if config.image_shape:
        if math.prod(config.image_shape) != width:
            raise AutoMLError(
                f"--image-shape {config.image_shape} holds {math.prod(config.image_shape)} values but the data has "
                f"{width} feature values per row",
                "pass C,H,W whose product equals the number of pixel columns",
            )
        return _Fitted("image", tuple(config.image_shape), preprocessors)
    cardinalities = tuple(next(iter(preprocessors.values())).embedding_cardinalities_)
    return _Fitted("tabular", (width,), preprocessors, embedding_cardinalities=cardinalities)


def transform(preprocessor, features: pd.DataFrame, raw: RawData, rows: np.ndarray, input_shape, chunk: int = 65_536) -> np.ndarray:
    """The model input of some rows, from the arrays or the table, built chunk by chunk into one
    array so that no full copy of a split's raw rows is ever made."""
    out = None
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        block = preprocessor.transform(raw.X[part] if not raw.is_table else features.iloc[part])
        if block.dtype != np.int64:
            block = block.reshape((len(block), *input_shape))
        if out is None:
            out = np.empty((len(rows), *block.shape[1:]), dtype=block.dtype)
        out[start : start + len(block)] = block
    if out is None:  # no rows: the shape of one transformed row, with none of them
        return transform(preprocessor, features, raw, np.arange(1), input_shape)[:0]
    return out
