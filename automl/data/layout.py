"""Which view of a table a search takes: a table of features, or a set of series.

Time-series files often come in the wide layout: one row per series, one column per time step,
and a label. Read as a table, each time step becomes an unrelated feature and the networks
that suit series (1-D convolutions, recurrent networks) are never offered. The layout is
recognized when, on the training rows, every feature column

- is named by one prefix and consecutive integers, in order: ``t0 … t149``, ``1 … 150``,
  ``att1 … att150`` (at least :data:`MIN_STEPS` of them; ``pixel…`` names are images);
- holds numbers;
- and neighbouring columns move together: the median correlation of each step with the next
  is at least :data:`MIN_ADJACENT_CORRELATION` (a series is smooth at its sampling rate;
  numbered but independent features such as ``x0 … x19`` are not).

``--input-kind`` (``AutoML(input_kind=...)``) forces either view. The choice and its reason go
to the data report and the screen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

MIN_STEPS = 10
MIN_ADJACENT_CORRELATION = 0.5
CORRELATION_SAMPLE = 2000
IMAGE_PREFIXES = ("pixel", "pix", "px")
_NUMBERED = re.compile(r"^(.*?)(\d+)$")


@dataclass(frozen=True)
class InputView:
    """The view a table is read in (``tabular``, ``sequence``, ``text`` or ``auto`` = left to
    the column profile) and why, in one line for the screen (empty when there is nothing to say)."""

    kind: str
    reason: str = ""


def choose_view(features, forced: str | None) -> InputView:
    """The view of a feature table (the training rows: a DataFrame or a ``RowView``)."""
    if forced:
        return InputView(forced, f"{forced} view: forced by --input-kind {forced}")
    columns = [str(c) for c in features.columns]
    steps = numbered_steps(columns)
    if steps is None:
        return InputView("auto")
    prefix = steps[0]
    names = f"{columns[0]} … {columns[-1]}"
    if prefix.lower().startswith(IMAGE_PREFIXES):
        return InputView("auto", f"tabular view: columns {names} are numbered pixels, not time steps "
                                 "(--image-shape C,H,W reads them as images)")
    if not all(pd.api.types.is_numeric_dtype(features[c]) and not pd.api.types.is_bool_dtype(features[c])
               for c in features.columns):
        return InputView("auto")
    correlation = adjacent_correlation(features)
    if correlation >= MIN_ADJACENT_CORRELATION:
        return InputView("sequence", f"sequence view: {len(columns)} numeric columns {names} are ordered time steps "
                                     f"(neighbouring steps correlate {correlation:.2f}); --input-kind tabular reads a table")
    return InputView("tabular", f"tabular view: columns {names} are numbered, but neighbouring ones correlate only "
                                f"{correlation:.2f} (series: {MIN_ADJACENT_CORRELATION} or more); "
                                "--input-kind sequence reads them as series")


def numbered_steps(columns: list[str]) -> tuple[str, int, int] | None:
    """``(prefix, first, last)`` when the names are one prefix and consecutive integers in order."""
    if len(columns) < MIN_STEPS:
        return None
    parts = [_NUMBERED.match(name) for name in columns]
    if not all(parts):
        return None
    prefixes = {p.group(1) for p in parts}
    numbers = [int(p.group(2)) for p in parts]
    if len(prefixes) != 1 or numbers != list(range(numbers[0], numbers[0] + len(numbers))):
        return None
    return prefixes.pop(), numbers[0], numbers[-1]


def adjacent_correlation(features) -> float:
    """The median, over neighbouring column pairs, of their correlation across rows (at most
    :data:`CORRELATION_SAMPLE` rows, evenly spaced); a constant column correlates 0."""
    rows = len(features)
    if rows < 3:
        return 0.0
    take = np.linspace(0, rows - 1, min(rows, CORRELATION_SAMPLE)).astype(int)
    values = np.column_stack([np.asarray(features[c], dtype=np.float64)[take] for c in features.columns])
    values = np.where(np.isnan(values), np.nanmean(values, axis=0, keepdims=True), values)
    values = np.nan_to_num(values - values.mean(axis=0))
    scale = np.sqrt((values**2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        standardized = np.where(scale > 0, values / scale, 0.0)
    return float(np.median((standardized[:, :-1] * standardized[:, 1:]).sum(axis=0)))
