"""Resume folders of the collection stages: named by a digest of every input that decides an output's bytes,
and trusted only for files the run itself recorded as finished (a file planted there, or left by other code, is
redone)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from apeart.core.files import read_capped, write_bytes
from apeart.core.images import MAX_BYTES
from apeart.core.errors import ApeartError

RECORD_SUFFIX = ".sha256"


class ResumeError(ApeartError, RuntimeError):
    """A file to publish from a resume folder is not recorded there as finished."""


def resume_key(files: list[Path], record: object) -> str:
    """sha256 (hex) over `record` (as sorted JSON) and each of `files`' name and bytes, in order."""
    digest = hashlib.sha256(json.dumps(record, sort_keys=True).encode())
    for path in files:
        digest.update(f"\0{path.name}\0{path.stat().st_size}\0".encode() + path.read_bytes())
    return digest.hexdigest()


def _seal(work: Path, name: str, data: bytes) -> str:
    """The record of `data` as `work/<name>`: bound to the folder (its key) and the name, not only the bytes."""
    return hashlib.sha256(f"{work.name}/{name}\0".encode() + data).hexdigest()


def save_finished(work: Path, name: str, data: bytes) -> None:
    """Write `work/<name>`, then its record beside it; each atomically and durably."""
    write_bytes(work / name, data, durable=True)
    write_bytes(work / f"{name}{RECORD_SUFFIX}", _seal(work, name, data).encode(), durable=True)


def read_finished(work: Path, name: str) -> bytes | None:
    """The bytes of `work/<name>` if this code recorded them as finished there, else None."""
    try:  # capped regular-file reads: a planted FIFO or device is not finished, not a hang
        data, record = read_capped(work / name, MAX_BYTES), read_capped(work / f"{name}{RECORD_SUFFIX}", 64)
    except (OSError, ValueError):
        return None
    return data if record == _seal(work, name, data).encode() else None
