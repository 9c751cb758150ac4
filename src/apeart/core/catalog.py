"""The collection manifest CSV: one row per image with token id, CID, sha256 and traits."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from apeart.core.files import write_bytes

BASE_COLUMNS = ["token_id", "cid", "sha256", "bytes"]


def write_manifest(rows: list[dict], path: Path) -> None:
    """Write rows sorted by token id; trait columns follow the base columns in first-seen order."""
    columns = list(BASE_COLUMNS)
    for row in rows:
        columns += [k for k in row if k not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(sorted(rows, key=lambda r: int(r["token_id"])))
    write_bytes(path, buf.getvalue().encode())


def read_manifest(path: Path) -> list[dict[str, str]]:
    """Rows of a manifest written by `write_manifest`."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))
