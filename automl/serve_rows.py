"""What ``POST /predict`` takes, per input kind: the ``rows`` of a request, validated and turned
into the data ``Predictor.predict`` takes (the same as ``automl predict`` reads from a file).

- tables: objects of feature values, ``{"age": 31, "colour": "red"}`` (``null`` if missing), also
  for images trained from pixel columns (``--image-shape``) and sequences from a wide table;
- images and sequences from arrays (.npz, image folders): nested lists of numbers of the
  training shape, ``(C, H, W)`` or ``(T, F)`` (``null`` if missing);
- text: strings.

A model that does not predict (``generate``) or whose preprocessing has no reader is refused
by name when the server starts (:func:`rows_reader`).
"""

from __future__ import annotations

import math
from http import HTTPStatus
from typing import Any

import numpy as np
import pandas as pd

from automl.errors import AutoMLError


class RequestError(Exception):
    """A client mistake: the HTTP status, a message and the field it concerns."""

    def __init__(self, status: HTTPStatus, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.field = status, message, field


def bad_row(message: str, field: str) -> RequestError:
    return RequestError(HTTPStatus.BAD_REQUEST, message[:200], field[:200])


class TableRows:
    """Rows as objects of the model's feature columns, validated field by field."""

    expects = "a non-empty list of objects of feature values"

    def __init__(self, columns, numeric_columns) -> None:
        self.columns = list(columns)
        self.numeric = set(numeric_columns)

    def describe(self) -> dict:
        return {"features": self.columns}

    def read(self, rows: list) -> pd.DataFrame:
        known = set(self.columns)
        for i, row in enumerate(rows):
            if not isinstance(row, dict):
                raise bad_row(f"row {i} must be an object of feature values", f"rows[{i}]")
            for column in self.columns:
                if column not in row:
                    raise bad_row(f"row {i} lacks feature '{column}' (use null if missing)", f"rows[{i}].{column}")
                value = row[column]
                if column in self.numeric and not _is_number_or_null(value):
                    raise bad_row(f"feature '{column}' must be a number or null, got {value!r}", f"rows[{i}].{column}")
                if isinstance(value, (dict, list)):
                    raise bad_row(f"feature '{column}' must be a string, number or null", f"rows[{i}].{column}")
            for column in row:
                if column not in known:
                    raise bad_row(f"row {i} has unknown feature '{column}'", f"rows[{i}].{column}")
        frame = pd.DataFrame(rows, columns=self.columns)
        for column in self.numeric:
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
        return frame


class ArrayRows:
    """Rows as nested lists of numbers (or null) of one example's training shape."""

    def __init__(self, shape) -> None:
        self.shape = tuple(int(d) for d in shape)
        self.expects = f"a non-empty list of nested lists of numbers, each of shape {list(self.shape)}"

    def describe(self) -> dict:
        return {"input_shape": list(self.shape)}

    def read(self, rows: list) -> np.ndarray:
        examples = []
        for i, row in enumerate(rows):
            try:
                example = np.array(row, dtype=np.float32)
            except (TypeError, ValueError):
                raise bad_row(f"row {i} must be nested lists of numbers or null of shape {list(self.shape)}", f"rows[{i}]") from None
            if example.shape != self.shape:
                raise bad_row(f"row {i} has shape {list(example.shape)}, the model takes {list(self.shape)}", f"rows[{i}]")
            if np.isinf(example).any() or _holds_booleans(row):
                raise bad_row(f"row {i} must hold finite numbers or null", f"rows[{i}]")
            examples.append(example)
        return np.stack(examples)


class TextRows:
    """Rows as strings (``null`` for an empty text)."""

    expects = "a non-empty list of strings"

    def __init__(self, column: str) -> None:
        self.column = column

    def describe(self) -> dict:
        return {"text_column": self.column}

    def read(self, rows: list) -> pd.DataFrame:
        for i, row in enumerate(rows):
            if row is not None and not isinstance(row, str):
                raise bad_row(f"row {i} must be a string, got {type(row).__name__}", f"rows[{i}]")
        return pd.DataFrame({self.column: pd.Series(rows, dtype=object)})


def rows_reader(predictor):
    """The reader of what the predictor's fitted preprocessing takes, or an :class:`AutoMLError`
    naming why the model cannot be served."""
    from automl.data.arrays import ArrayStandardizer
    from automl.data.text import TextTokenizer

    kind = predictor.info.get("input_kind", "tabular")
    if predictor.task_impl.makes_rows:
        raise AutoMLError(f"a {predictor.task} model makes new rows, it does not predict, so it cannot be served",
                          "use `automl sample` for new rows")
    features = predictor.features
    if isinstance(features, TextTokenizer):
        return TextRows(features.column)
    if isinstance(features, ArrayStandardizer):
        if features.columns is not None:  # a wide table, one column per time step
            return TableRows(features.columns, features.columns)
        return ArrayRows(predictor.info["input_shape"])
    if hasattr(features, "columns_"):  # tables, and pixel columns read as images (--image-shape)
        return TableRows(features.columns_, features.numeric_columns_)
    raise AutoMLError(f"automl serve cannot read the inputs of this {kind} model ({type(features).__name__})",
                      "use `automl predict` for this model")


def _is_number_or_null(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value)


def _holds_booleans(value: Any) -> bool:
    if isinstance(value, bool):
        return True
    return isinstance(value, list) and any(_holds_booleans(v) for v in value)
