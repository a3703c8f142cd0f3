"""Load a dataset from a path, a DataFrame or a built-in name into a pandas DataFrame."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from automl.errors import AutoMLError

BUILTIN_DATASETS = ("digits", "iris", "wine", "breast_cancer", "diabetes")
BUILTIN_TARGET = "target"
TABLE_SUFFIXES = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}


def load_builtin(name: str) -> pd.DataFrame:
    """One of scikit-learn's bundled datasets (no download) with its label in column ``target``."""
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, f"load_{name}")(as_frame=True)
    frame = bunch.frame.copy()
    if name == "digits":
        frame.columns = [f"pixel_{i}" for i in range(64)] + [BUILTIN_TARGET]
    return frame


def load_table(source: Any) -> tuple[pd.DataFrame, str]:
    """Return ``(frame, dataset_name)`` for a DataFrame, a CSV/Parquet path or a built-in name."""
    if isinstance(source, pd.DataFrame):
        frame, name = source, "dataframe"
    elif isinstance(source, str) and source in BUILTIN_DATASETS and not Path(source).exists():
        frame, name = load_builtin(source), source
    else:
        path = Path(source)
        frame, name = _read_file(path), path.stem
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise AutoMLError(f"dataset '{name}' has no rows", "pass a table with a header and at least one data row")
    return frame, name


def _read_file(path: Path) -> pd.DataFrame:
    if not path.exists():
        hint = f"check the path, or use a built-in dataset: {', '.join(BUILTIN_DATASETS)}"
        raise AutoMLError(f"data file {path} does not exist", hint)
    if path.is_dir():
        raise AutoMLError(f"{path} is a folder, not a data file", "pass a .csv or .parquet file")
    kind = TABLE_SUFFIXES.get(path.suffix.lower(), "csv")
    try:
        if kind == "parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, sep=None, engine="python") if path.suffix.lower() != ".csv" else pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise AutoMLError(f"data file {path} is empty", "pass a table with a header and at least one data row") from None
    except (UnicodeDecodeError, pd.errors.ParserError, ValueError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise AutoMLError(f"cannot read {path} as {kind}: {first}", "pass a valid CSV or Parquet file") from None
