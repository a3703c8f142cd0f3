"""File helpers: atomic writes, so a kill never leaves a half-written file; JSON for result values."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def json_value(value):
    """A value JSON cannot write as is: a NumPy or torch scalar's number, else its text (``json.dumps(default=...)``)."""
    return value.item() if hasattr(value, "item") else str(value)


def write_text_atomic(path: Path, text: str, durable: bool = True) -> None:
    write_bytes_atomic(path, text.encode(), durable)


def write_bytes_atomic(path: Path, data: bytes, durable: bool = True) -> None:
    """Write to a temporary file and rename it over ``path``: a killed process leaves the old
    file or the new one, never half of one. ``durable`` also flushes it to disk (survives a
    machine crash); a file rewritten every second skips that, since an fsync can stall for
    as long as the disk takes to write out everything else that is pending."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
