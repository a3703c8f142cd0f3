"""Column profiler: decide what each feature column of a table is and how it will be encoded.

Decisions are made on the training rows only and each one carries its reason, so the data
report can say what was done to every column and why.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd

from automl.errors import AutoMLError

MAX_ONE_HOT_CATEGORIES = 20
MIN_TEXT_WORDS = 4
NUMERIC_SHARE_FOR_MIXED = 0.9
DATETIME_SHARE = 0.95
PROFILE_SAMPLE = 2000

KEPT_KINDS = ("numeric", "boolean", "categorical", "embedding", "datetime", "text")


@dataclass(frozen=True)
class ColumnDecision:
    """What one column is (``kind``), whether it is kept, and why."""

    column: str
    kind: str
    reason: str
    dtype: str
    missing: int = 0
    distinct: int = 0

    @property
    def kept(self) -> bool:
        return self.kind in KEPT_KINDS


class RowView:
    """Some rows of a table, read one column at a time: the training rows without copying the
    whole training split (a large table's split copy would cost most of its size again)."""

    def __init__(self, frame: pd.DataFrame, rows: np.ndarray) -> None:
        self.frame = frame
        self.rows = rows

    @property
    def columns(self) -> pd.Index:
        return self.frame.columns

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, column) -> pd.Series:
        return self.frame[column].iloc[self.rows]


def profile_columns(frame: pd.DataFrame | RowView) -> list[ColumnDecision]:
    """One decision per column of a feature table (the training rows)."""
    decisions = [_decide(str(name), frame[name]) for name in frame.columns]
    if not any(d.kept for d in decisions):
        if all(d.kind == "all_missing" for d in decisions):
            raise AutoMLError(
                "every feature column is entirely missing", "pass feature columns that hold values"
            )
        reasons = "; ".join(f"{d.column}: {d.reason}" for d in decisions[:4])
        raise AutoMLError(f"no usable feature column ({reasons})", "add feature columns that vary across rows")
    return decisions


def as_pixels(decisions: list[ColumnDecision]) -> list[ColumnDecision]:
    """Decisions for pixel columns (``--image-shape``): the image needs every column, so constant,
    empty and id-like ones stay in, as numbers."""
    return [d if d.kept else replace(d, kind="numeric", reason=f"a pixel of an image, kept ({d.reason})") for d in decisions]


def decisions_as_dicts(decisions: list[ColumnDecision]) -> list[dict]:
    return [asdict(d) for d in decisions]


def _decide(name: str, values: pd.Series) -> ColumnDecision:
    present = values.dropna()
    dtype = str(values.dtype)
    missing = int(len(values) - len(present))
    if present.empty:
        return ColumnDecision(name, "all_missing", "dropped: every value is missing", dtype, missing, 0)
    distinct = int(present.nunique())
    info = dict(dtype=dtype, missing=missing, distinct=distinct)
    if distinct == 1:
        return ColumnDecision(name, "constant", f"dropped: the same value ({present.iloc[0]}) in every row", **info)
    if pd.api.types.is_bool_dtype(values) or _is_boolean_like(present, distinct):
        return ColumnDecision(name, "boolean", "two values mapped to 0/1", **info)
    if pd.api.types.is_numeric_dtype(values):
        if _is_id_like(name, present, distinct, len(values)):
            return ColumnDecision(name, "id", "dropped: a distinct integer per row (an identifier)", **info)
        return ColumnDecision(name, "numeric", "numbers: impute, clip, scale", **info)
    if pd.api.types.is_datetime64_any_dtype(values):
        return ColumnDecision(name, "datetime", "dates expanded into year, month, day, weekday (and time of day)", **info)
    as_text = present.astype(str)
    if _numeric_share(name, as_text) == 1.0:
        return ColumnDecision(name, "numeric", "numbers stored as text: parsed, imputed, clipped, scaled", **info)
    if _is_datetime_like(as_text):
        return ColumnDecision(name, "datetime", "date strings expanded into year, month, day, weekday (and time of day)", **info)
    words = as_text.head(PROFILE_SAMPLE).str.count(r"\S+").mean()
    if distinct > MAX_ONE_HOT_CATEGORIES and words >= MIN_TEXT_WORDS:
        return ColumnDecision(name, "text", f"free text ({words:.0f} words on average): tokenized", **info)
    if distinct == len(values):
        return ColumnDecision(name, "id", "dropped: a distinct value in every row (an identifier)", **info)
    if distinct <= MAX_ONE_HOT_CATEGORIES:
        return ColumnDecision(name, "categorical", f"{distinct} categories: one-hot", **info)
    return ColumnDecision(name, "embedding", f"{distinct} categories (over {MAX_ONE_HOT_CATEGORIES}): ordinal codes for embeddings", **info)


def _is_boolean_like(present: pd.Series, distinct: int) -> bool:
    if distinct != 2 or pd.api.types.is_numeric_dtype(present):
        return False
    return set(present.astype(str).str.lower().unique()) in ({"true", "false"}, {"yes", "no"})


def _is_id_like(name: str, present: pd.Series, distinct: int, rows: int) -> bool:
    if distinct != rows or not pd.api.types.is_integer_dtype(present):
        return False
    # Distinct integers that fill a contiguous range are row numbers; other distinct integers may be a measure.
    span = int(present.max()) - int(present.min())
    return span == rows - 1 or name.lower() == "id" or name.lower().endswith("_id")


def _numeric_share(name: str, as_text: pd.Series) -> float:
    """Share of text values that are numbers; a column of mostly numbers with a few that are not is an error."""
    share = float(pd.to_numeric(as_text.head(PROFILE_SAMPLE), errors="coerce").notna().mean())
    if share < NUMERIC_SHARE_FOR_MIXED / 2:
        return share  # plainly text; parsing every value as a number would only cost time
    # The whole column, not a sample: one bad value anywhere makes pandas read numbers as text.
    numbers = pd.to_numeric(as_text, errors="coerce")
    share = float(numbers.notna().mean())
    if NUMERIC_SHARE_FOR_MIXED <= share < 1.0:
        bad = as_text[numbers.isna()].iloc[0]
        raise AutoMLError(
            f"column '{name}' mixes numbers with values that are not numbers, such as {bad!r}",
            "clean those values in the file, or leave them empty to mark them missing",
        )
    return share


def _is_datetime_like(as_text: pd.Series) -> bool:
    sample = as_text.head(PROFILE_SAMPLE)
    if not sample.str.contains(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}", regex=True).all():
        return False
    parsed = parse_datetimes(sample)
    return float(parsed.notna().mean()) >= DATETIME_SHARE


def parse_datetimes(values: pd.Series) -> pd.Series:
    """Datetimes from strings (ISO 8601 first, else pandas' per-value parsing); unparsable → NaT."""
    import warnings

    parsed = pd.to_datetime(values, errors="coerce", format="ISO8601", utc=True)
    if parsed.notna().mean() < DATETIME_SHARE:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = pd.to_datetime(values, errors="coerce", format="mixed", utc=True)
    return parsed
