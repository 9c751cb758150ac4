"""The collection manifest, data/raw/manifest.csv: one row per image with token id, CID, sha256 and traits."""
from __future__ import annotations

from pathlib import Path

from apeart.core.csvfiles import CsvError, csv_records, cut, plain, write_csv

BASE_COLUMNS = ["token_id", "cid", "sha256", "bytes"]


class ManifestError(CsvError):
    """A manifest that is malformed or names an invalid token id, CID or hash."""


def write_manifest(rows: list[dict], path: Path) -> None:
    """Write rows sorted by token id; trait columns follow the base columns in first-seen order."""
    columns = list(BASE_COLUMNS)
    for row in rows:
        columns += [k for k in row if k not in columns]
    write_csv(path, columns, sorted(rows, key=lambda r: int(r["token_id"])))


def read_manifest(path: Path) -> list[dict[str, str]]:
    """Rows of a manifest written by `write_manifest` (token ids checked, cells `plain`)."""
    records = ((line, [plain(cell) for cell in rec]) for line, rec in csv_records(path, ManifestError))
    _, header = next(records, (1, []))
    if header[:1] != ["token_id"]:
        raise ManifestError(f"{path}:1: header {cut(repr(header))}, expected token_id first")
    rows = []
    for line, rec in records:
        if len(rec) != len(header) or not rec[0].isdigit():
            raise ManifestError(f"{path}:{line}: {len(rec)} fields or token id {cut(repr(rec[:1]))}, "
                                f"expected {len(header)} fields and a token id")
        rows.append(dict(zip(header, rec)))
    return rows
