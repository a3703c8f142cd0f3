"""Load a dataset into memory: tables (CSV, Parquet, JSON Lines, DataFrame, built-in names) as a
pandas DataFrame, and arrays (NumPy ``(X, y)``, ``.npz``, a folder of images) as NumPy arrays.

Every way a file can be unusable ends in one :class:`AutoMLError` naming the problem and the fix.
"""

from __future__ import annotations

import csv
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl.errors import AutoMLError

BUILTIN_DATASETS = ("digits", "iris", "wine", "breast_cancer", "diabetes")
BUILTIN_TARGET = "target"
PARQUET_SUFFIXES = (".parquet", ".pq")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
NPZ_SUFFIXES = (".npz",)
CANDIDATE_DELIMITERS = ",;\t|"
ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
SNIFF_BYTES = 1 << 16
TABLE_FIX = "pass a CSV, Parquet, JSON Lines or .npz file, or a folder of images with one subfolder per class"


@dataclass
class RawData:
    """A loaded dataset before validation: a table, or feature and label arrays.

    ``frame`` is set for tables; ``X`` (and ``y`` when labels are known) for arrays, with
    ``array_kind`` telling what the array holds (``"image"``, ``"sequence"`` or ``"tabular"``).
    """

    name: str
    frame: pd.DataFrame | None = None
    X: np.ndarray | None = None
    y: np.ndarray | None = None
    array_kind: str | None = None
    details: dict | None = None

    @property
    def is_table(self) -> bool:
        return self.frame is not None


def load_builtin(name: str) -> pd.DataFrame:
    """One of scikit-learn's bundled datasets (no download) with its label in column ``target``."""
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, f"load_{name}")(as_frame=True)
    frame = bunch.frame.copy()
    if name == "digits":
        frame.columns = [f"pixel_{i}" for i in range(64)] + [BUILTIN_TARGET]
    return frame


def load_data(source: Any, delimiter: str | None = None) -> RawData:
    """Load a DataFrame, an ``(X, y)`` pair of arrays, a file path, a folder of images or a built-in name."""
    if isinstance(source, pd.DataFrame):
        return RawData("dataframe", frame=_checked_frame(source, "the DataFrame"))
    if isinstance(source, tuple) and len(source) == 2 and isinstance(source[0], np.ndarray):
        return _arrays("arrays", np.asarray(source[0]), np.asarray(source[1]), "the (X, y) arrays")
    if isinstance(source, np.ndarray):
        return _arrays("arrays", source, None, "the array")
    if isinstance(source, str) and source in BUILTIN_DATASETS and not Path(source).exists():
        return RawData(source, frame=load_builtin(source))
    path = Path(source)
    if not path.exists():
        hint = f"check the path, or use a built-in dataset: {', '.join(BUILTIN_DATASETS)}"
        raise AutoMLError(f"data file {path} does not exist", hint)
    if path.is_dir():
        from automl.data.images import read_image_folder

        X, y, details = read_image_folder(path)
        return RawData(path.name, X=X, y=y, array_kind="image", details=details)
    suffix = path.suffix.lower()
    if suffix in NPZ_SUFFIXES:
        X, y = read_npz(path)
        return _arrays(path.stem, X, y, str(path))
    return RawData(path.stem, frame=read_table(path, delimiter))


def read_table(path: Path, delimiter: str | None = None) -> pd.DataFrame:
    """A CSV (delimiter and encoding detected), Parquet or JSON Lines file as a DataFrame."""
    suffix = path.suffix.lower()
    try:
        if path.stat().st_size == 0:
            raise AutoMLError(f"data file {path} is empty", "pass a table with a header and at least one data row")
        if suffix in PARQUET_SUFFIXES:
            frame = pd.read_parquet(path)
        elif suffix in JSONL_SUFFIXES:
            frame = pd.read_json(path, lines=True)
        else:
            frame = _read_csv(path, delimiter)
    except AutoMLError:
        raise
    except pd.errors.EmptyDataError:
        raise AutoMLError(f"data file {path} is empty", "pass a table with a header and at least one data row") from None
    except (UnicodeDecodeError, pd.errors.ParserError, ValueError, OSError, ImportError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise AutoMLError(f"cannot read {path}: {first}", TABLE_FIX) from None
    release_freed_memory()
    return _checked_frame(frame, str(path))


def release_freed_memory() -> None:
    """Hand memory that parsing freed back to the OS (glibc keeps it otherwise).

    Parsing a large CSV frees about as much as the table itself; without this the process keeps
    that memory, and everything allocated after loading (prepared arrays, trials) adds to it.
    """
    import ctypes
    import ctypes.util

    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to trim


def _read_csv(path: Path, delimiter: str | None) -> pd.DataFrame:
    with open(path, "rb") as handle:
        sample = handle.read(SNIFF_BYTES)
    if b"\x00" in sample:
        raise AutoMLError(f"{path} is a binary file, not a text table", TABLE_FIX)
    encoding, text = _detect_encoding(sample, complete=len(sample) < SNIFF_BYTES)
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise AutoMLError(f"data file {path} is empty", "pass a table with a header and at least one data row")
    sep = delimiter or _detect_delimiter(lines)
    header = next(csv.reader([lines[0]], delimiter=sep))
    _check_header(header, str(path))
    if len(lines) == 1 and len(sample) < SNIFF_BYTES:
        raise AutoMLError(f"data file {path} has a header but no data rows", "add data rows below the header")
    with warnings.catch_warnings():
        # Chunked parsing keeps memory near the table's size; a column whose chunks disagree on
        # type becomes mixed, which the profiler reports by name.
        warnings.simplefilter("ignore", pd.errors.DtypeWarning)
        frame = pd.read_csv(path, sep=sep, encoding=encoding)
    if frame.shape[1] == 1:
        guess = _detect_delimiter(lines)
        if guess != sep or any(d in str(frame.columns[0]) for d in CANDIDATE_DELIMITERS if d != sep):
            raise AutoMLError(
                f"{path} parsed into a single column {str(frame.columns[0])[:60]!r} with delimiter {sep!r}",
                f"pass --delimiter {guess!r} (or leave --delimiter out to detect it)",
            )
    return frame


def _detect_encoding(sample: bytes, complete: bool) -> tuple[str, str]:
    for encoding in ENCODINGS:
        try:
            return encoding, sample.decode(encoding)
        except UnicodeDecodeError as exc:
            # A multi-byte character cut at the end of the sample is not a decoding failure.
            if not complete and exc.start >= len(sample) - 3 and encoding.startswith("utf-8"):
                return encoding, sample[: exc.start].decode(encoding)
    return "latin-1", sample.decode("latin-1")


def _detect_delimiter(lines: list[str]) -> str:
    sample = "\n".join(lines[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=CANDIDATE_DELIMITERS).delimiter
    except csv.Error:
        counts = {d: lines[0].count(d) for d in CANDIDATE_DELIMITERS}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def _check_header(header: list[str], where: str) -> None:
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise AutoMLError(f"column name {name!r} appears more than once in {where}", "give every column a unique name")
        seen.add(name)


def _checked_frame(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    _check_header([str(c) for c in frame.columns], where)
    if not all(isinstance(c, str) for c in frame.columns):
        frame = frame.rename(columns=str)  # column names are matched as text everywhere after loading
    if frame.shape[1] == 0:
        raise AutoMLError(f"{where} has no columns", "pass a table with a header and at least one data row")
    if frame.shape[0] == 0:
        raise AutoMLError(f"{where} has a header but no data rows", "add data rows below the header")
    return frame


def read_npz(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """``X`` (and ``y`` if present) from a NumPy ``.npz`` archive."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            if "X" not in archive.files:
                raise AutoMLError(f"{path} has no array named 'X' (it has {', '.join(archive.files) or 'none'})", "save it with np.savez(path, X=X, y=y)")
            return archive["X"], (archive["y"] if "y" in archive.files else None)
    except AutoMLError:
        raise
    except (ValueError, OSError, EOFError) as exc:
        raise AutoMLError(f"cannot read {path} as a NumPy .npz archive: {str(exc).splitlines()[0]}", "save it with np.savez(path, X=X, y=y)") from None


def _arrays(name: str, X: np.ndarray, y: np.ndarray | None, where: str) -> RawData:
    kinds = {2: "tabular", 3: "sequence", 4: "image"}
    if X.ndim not in kinds:
        raise AutoMLError(f"X in {where} has {X.ndim} dimensions", "pass (N, F) tables, (N, T, F) sequences or (N, C, H, W) images")
    if len(X) == 0:
        raise AutoMLError(f"X in {where} has no rows", "pass at least one example per class and split")
    if not np.issubdtype(X.dtype, np.number) and X.dtype != bool:
        raise AutoMLError(f"X in {where} holds {X.dtype} values", "pass numeric arrays")
    if y is not None and len(y) != len(X):
        raise AutoMLError(f"X has {len(X)} rows but y has {len(y)} in {where}", "pass one label per row of X")
    return RawData(name, X=X, y=y, array_kind=kinds[X.ndim])


def load_prediction_input(source: Any, delimiter: str | None = None) -> pd.DataFrame | np.ndarray:
    """New data to predict on: a table as a DataFrame, or ``X`` of an .npz / a folder of images."""
    if isinstance(source, (pd.DataFrame, np.ndarray)):
        return source
    raw = load_data(source, delimiter)
    return raw.frame if raw.is_table else raw.X
