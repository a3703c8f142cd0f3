"""Read the records of a W&B offline run file (``run-<id>.wandb``) back into Python.

wandb 0.31 has no public reader. The file is a LevelDB-style log: a 7-byte header
(``:W&B``, magic ``0xBEE1``, version), then 32 KiB blocks of chunks, each chunk a 7-byte
header (CRC-32, length, type FULL/FIRST/MIDDLE/LAST) and its data. Whole chunks join into
serialized ``wandb.proto.wandb_internal_pb2.Record`` messages.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

FILE_HEADER = struct.Struct("<4sHB")
CHUNK_HEADER = struct.Struct("<IHB")
BLOCK_SIZE = 32 * 1024
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def read_records(path: str | Path) -> Iterator[Any]:
    """Yield every ``Record`` message stored in a ``.wandb`` file, in write order."""
    from wandb.proto import wandb_internal_pb2

    data = Path(path).read_bytes()
    if len(data) < FILE_HEADER.size:
        raise ValueError(f"{path} is empty or still being written")
    ident, _magic, _version = FILE_HEADER.unpack_from(data, 0)
    if ident != b":W&B":
        raise ValueError(f"{path} is not a W&B run file (header {ident!r})")
    for payload in _payloads(data, FILE_HEADER.size):
        record = wandb_internal_pb2.Record()
        record.ParseFromString(payload)
        yield record


def _payloads(data: bytes, offset: int) -> Iterator[bytes]:
    pending = b""
    while offset + CHUNK_HEADER.size <= len(data):
        room = BLOCK_SIZE - offset % BLOCK_SIZE
        if room < CHUNK_HEADER.size:  # a block's zero-filled trailer
            offset += room
            continue
        _crc, length, kind = CHUNK_HEADER.unpack_from(data, offset)
        if kind == 0 and length == 0:  # zero padding at the end of a block
            offset += room
            continue
        start = offset + CHUNK_HEADER.size
        chunk = data[start : start + length]
        offset = start + length
        if kind == FULL:
            yield chunk
        elif kind == FIRST:
            pending = chunk
        elif kind == MIDDLE:
            pending += chunk
        elif kind == LAST:
            yield pending + chunk
            pending = b""


@dataclass
class OfflineRun:
    """What one offline run holds: identity, config, per-step history, summary, artifacts."""

    run_id: str
    name: str
    project: str
    group: str
    job_type: str
    path: Path
    config: dict = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    artifacts: list[dict] = field(default_factory=list)
    exit_code: int | None = None

    @property
    def files_dir(self) -> Path:
        """The run's ``files/`` folder, where logged media and tables are written."""
        return self.path.parent / "files"


def read_offline_run(path: str | Path, wait_s: float = 0.0) -> OfflineRun:
    """Decode a ``run-<id>.wandb`` file (or the run folder holding one) into an :class:`OfflineRun`.

    wandb's service may still be writing a run's last records after ``finish()`` returns;
    ``wait_s`` waits up to that long for the run's exit record before reading what is there.
    """
    import time

    path = Path(path)
    if path.is_dir():
        path = next(path.glob("*.wandb"))
    deadline = time.monotonic() + wait_s
    while True:
        try:
            run = _decode(path)
        except ValueError:
            if time.monotonic() >= deadline:
                raise
        else:
            if run.exit_code is not None or time.monotonic() >= deadline:
                return run
        time.sleep(0.1)


def _decode(path: Path) -> OfflineRun:
    run: OfflineRun | None = None
    config: dict = {}
    history: list[dict] = []
    summary: dict = {}
    artifacts: list[dict] = []
    exit_code = None
    for record in read_records(path):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            info = record.run
            run = OfflineRun(info.run_id, info.display_name, info.project, info.run_group, info.job_type, path)
            _apply(config, info.config.update)
        elif kind == "config":
            _apply(config, record.config.update)
        elif kind == "history":
            history.append({_key(item): json.loads(item.value_json) for item in record.history.item})
        elif kind == "summary":
            _apply(summary, record.summary.update)
        elif kind == "artifact":
            art = record.artifact
            artifacts.append({
                "name": art.name, "type": art.type, "aliases": list(art.aliases),
                "files": sorted(entry.path for entry in art.manifest.contents),
            })
        elif kind == "exit":
            exit_code = record.exit.exit_code
    if run is None:
        raise ValueError(f"{path} holds no run record")
    run.config = {k: v for k, v in config.items() if k != "_wandb"}  # "_wandb" is the client's bookkeeping
    run.history, run.summary, run.artifacts, run.exit_code = history, summary, artifacts, exit_code
    return run


def find_offline_runs(wandb_dir: str | Path, wait_s: float = 0.0) -> list[OfflineRun]:
    """Every offline run under a ``wandb/`` folder, in the order they were started."""
    return [read_offline_run(p, wait_s) for p in sorted(Path(wandb_dir).glob("offline-run-*/run-*.wandb"))]


def _key(item) -> str:
    return "/".join(item.nested_key) if item.nested_key else item.key


def _apply(target: dict, items) -> None:
    for item in items:
        target[_key(item)] = json.loads(item.value_json)
