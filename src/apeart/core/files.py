"""Atomic file writes: a reader or a later stage never sees a half-written output."""
from __future__ import annotations

import io
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from PIL import Image

_UMASK = os.umask(0)
os.umask(_UMASK)
TEMP_SUFFIX = ".tmp"


def read_capped(path: Path, limit: int) -> bytes:
    """The bytes of the regular file `path`, reading at most `limit` + 1 of them; ValueError (the reason) when it
    is not a regular file (a FIFO would block, /dev/zero never end) or holds more, OSError when unreadable."""
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise ValueError("not a regular file")
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"larger than {limit} bytes")
    return data


def remove_temps(folder: Path) -> None:
    """Delete the temp files a killed writer left in `folder` (call where no other writer runs)."""
    for tmp in folder.glob(f".*{TEMP_SUFFIX}"):
        tmp.unlink(missing_ok=True)


def write_bytes(path: Path, data: bytes, durable: bool = False) -> None:
    """Write `data` to `path` via a temp file in the same folder and an atomic rename; `durable` fsyncs
    first (resume state and caches that must survive a power cut, not only a killed process). OSError names
    `path` and the cause (disk full, read-only, file too large); the old `path`, if any, is left as it was."""
    try:
        _write_bytes(path, data, durable)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write ({exc.strerror or exc})", str(path)) from None


def _write_bytes(path: Path, data: bytes, durable: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        os.fchmod(fd, 0o644 & ~_UMASK)  # mkstemp creates 0600; outputs get the usual mode
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, obj: Any) -> None:
    """Pretty, key-sorted JSON, atomically."""
    write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def png_bytes(image: Image.Image) -> bytes:
    """PNG encoding with no metadata (no timestamps), so equal pixels give equal bytes."""
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=False, compress_level=6, icc_profile=None)
    return buf.getvalue()


def save_png(image: Image.Image, path: Path) -> None:
    """Save a PIL image as PNG, atomically."""
    write_bytes(path, png_bytes(image))
