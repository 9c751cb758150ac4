"""The collection manifest CSV: one row per image with token id, CID, sha256 and traits; bounded CSV reading;
CSV writing with no cell a spreadsheet would run as a formula."""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence

from apeart.core.files import read_capped, write_bytes

BASE_COLUMNS = ["token_id", "cid", "sha256", "bytes"]
MAX_CSV_BYTES = 16 * 1024 * 1024  # BAYC's provenance CSV for 10,000 tokens is ~1.3 MB
MAX_LINE = 4096
# OWASP CSV injection: a spreadsheet runs a cell starting with one of these; a leading ' makes it text. A cell
# that starts with ' gets one too, so `plain` strips exactly one and every value comes back as written.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


class ManifestError(ValueError):
    """A manifest that is malformed or names an invalid token id, CID or hash."""


def cut(text: str, limit: int = 120) -> str:
    """`text` cut to `limit` characters for a one-line message."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def csv_records(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, record) of a UTF-8 CSV, read within MAX_CSV_BYTES and MAX_LINE; any fault is a
    one-line ManifestError naming the file and line."""
    try:
        data = read_capped(path, MAX_CSV_BYTES)
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise ManifestError(f"{path}: {exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ManifestError(f"{path}:{line}: not UTF-8 (byte 0x{data[exc.start]:02x})") from None
    for number, line in enumerate(text.split("\n"), 1):
        if len(line) > MAX_LINE:
            raise ManifestError(f"{path}:{number}: line longer than {MAX_LINE} characters: {cut(line, 40)!r}")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for rec in reader:
            yield reader.line_num, rec
    except csv.Error as exc:
        raise ManifestError(f"{path}:{reader.line_num}: {cut(str(exc))}") from None


def inert(value: object) -> str:
    """`value` as a CSV cell no spreadsheet runs: a ' before a leading = + - @ tab, CR or '."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def plain(cell: str) -> str:
    """The value `inert` was given."""
    return cell[1:] if cell.startswith("'") else cell


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Mapping[str, object]]) -> None:
    """A header and rows (missing keys empty), every cell `inert`, written atomically; read back with `read_manifest`."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([inert(c) for c in columns])
    writer.writerows([inert(row.get(c, "")) for c in columns] for row in rows)
    write_bytes(path, buf.getvalue().encode())


def write_manifest(rows: list[dict], path: Path) -> None:
    """Write rows sorted by token id; trait columns follow the base columns in first-seen order."""
    columns = list(BASE_COLUMNS)
    for row in rows:
        columns += [k for k in row if k not in columns]
    write_csv(path, columns, sorted(rows, key=lambda r: int(r["token_id"])))


def read_manifest(path: Path) -> list[dict[str, str]]:
    """Rows of a manifest written by `write_manifest` (token ids checked, cells `plain`)."""
    records = ((line, [plain(cell) for cell in rec]) for line, rec in csv_records(path))
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
