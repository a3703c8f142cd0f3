"""Reviewing a finished search's leaderboard: load, filter, sort, take the top k, format.

Used by ``automl leaderboard RUN_DIR``; reads only the run directory's leaderboard
(:meth:`automl.run_directory.RunDirectory.read_leaderboard`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from automl.errors import AutoMLError
from automl.run_directory import LEADERBOARD_TEXT_COLUMNS, RunDirectory

FORMATS = ("table", "csv", "md", "json")
COMPONENT_COLUMNS = LEADERBOARD_TEXT_COLUMNS[:4]  # architecture, loss, optimizer, regularizers


def load_leaderboard(run_dir: Path) -> pd.DataFrame:
    """The ranked leaderboard a search wrote into ``run_dir``."""
    return RunDirectory(run_dir).read_leaderboard()


def select_rows(
    frame: pd.DataFrame,
    components: tuple[str, ...] = (),
    statuses: tuple[str, ...] = (),
    sort: str | None = None,
    descending: bool = False,
    top: int | None = None,
) -> pd.DataFrame:
    """Keep rows using every component named (architecture, loss, optimizer or regularizer) and
    any status named (``completed``, ``stopped early``, ``error``…), sort, then keep the first ``top``."""
    for name in components:
        uses = pd.Series(False, index=frame.index)
        for column in COMPONENT_COLUMNS:
            if column in frame:
                values = frame[column].fillna("").astype(str)
                # regularizers read "dropout(p=0.2), l2(...)": match a name before "(" or ","
                uses |= values.str.split(r",\s*(?![^()]*\))").apply(
                    lambda parts: any(p.split("(")[0].strip() == name for p in parts)
                )
        frame = frame[uses]
    if statuses:
        status = frame["status"].fillna("").astype(str)
        frame = frame[status.apply(lambda s: any(s == want or s.startswith(want + ":") for want in statuses))]
    if sort:
        if sort not in frame.columns:
            raise AutoMLError(f"no column '{sort}' to sort by", f"use one of: {', '.join(frame.columns)}")
        frame = frame.sort_values(sort, ascending=not descending, kind="stable", na_position="last")
    if top is not None:
        frame = frame.head(top)
    return frame.reset_index(drop=True)


TABLE_HIDDEN = ("hyperparameters",)


def pick_columns(frame: pd.DataFrame, columns: tuple[str, ...], fmt: str) -> pd.DataFrame:
    """The named columns in that order; by default all, less the long hyperparameter text in ``table``."""
    if not columns:
        return frame.drop(columns=[c for c in TABLE_HIDDEN if c in frame]) if fmt == "table" else frame
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise AutoMLError(f"no column {', '.join(map(repr, missing))} in the leaderboard", f"use some of: {', '.join(frame.columns)}")
    return frame[list(columns)]


def format_leaderboard(frame: pd.DataFrame, fmt: str) -> str:
    """The leaderboard as ``csv``, ``md`` (GitHub Markdown), ``json`` (a list of rows) or ``table``."""
    if fmt == "csv":
        return frame.to_csv(index=False)
    if fmt == "md":
        from automl.leaderboard import to_markdown

        return to_markdown(frame)
    if fmt == "json":
        return json.dumps(json.loads(frame.to_json(orient="records")), indent=2) + "\n"
    if fmt == "table":
        return _rich_table(frame)
    raise AutoMLError(f"unknown format '{fmt}'", f"use one of: {', '.join(FORMATS)}")


def _rich_table(frame: pd.DataFrame) -> str:
    import io
    import shutil
    import sys

    from rich.console import Console
    from rich.table import Table

    table = Table(header_style="bold")
    for column in frame.columns:
        table.add_column(str(column), overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*(_cell(v) for v in row))
    buffer = io.StringIO()
    # A terminal's own width; a pipe or file gets the table unfolded, as wide as its content.
    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else 10_000
    Console(file=buffer, width=width, color_system=None).print(table)
    return buffer.getvalue()


def _cell(value) -> str:
    if pd.isna(value):
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)
