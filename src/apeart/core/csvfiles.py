"""CSV files: bounded reading with one-line errors, and writing with no cell a spreadsheet would run as a formula."""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence

from apeart.core.files import read_capped, write_bytes
from apeart.core.errors import ApeartError

MAX_CSV_BYTES = 16 * 1024 * 1024
MAX_LINE = 4096
# OWASP CSV injection: a spreadsheet runs a cell starting with one of these; a leading ' makes it text. A cell
# that starts with ' gets one too, so `plain` strips exactly one and every value comes back as written.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


class CsvError(ApeartError, ValueError):
    """A CSV file that is unreadable or malformed."""


def cut(text: str, limit: int = 120) -> str:
    """`text` cut to `limit` characters for a one-line message."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def csv_records(path: Path, error: type[CsvError] = CsvError) -> Iterator[tuple[int, list[str]]]:
    """(line number, record) of a UTF-8 CSV, read within MAX_CSV_BYTES and MAX_LINE; any fault is a
    one-line `error` naming the file and line."""
    try:
        data = read_capped(path, MAX_CSV_BYTES)
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise error(f"{path}: {exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise error(f"{path}:{line}: not UTF-8 (byte 0x{data[exc.start]:02x})") from None
    for number, line in enumerate(text.split("\n"), 1):
        if len(line) > MAX_LINE:
            raise error(f"{path}:{number}: line longer than {MAX_LINE} characters: {cut(line, 40)!r}")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for rec in reader:
            yield reader.line_num, rec
    except csv.Error as exc:
        raise error(f"{path}:{reader.line_num}: {cut(str(exc))}") from None


def inert(value: object) -> str:
    """`value` as a CSV cell no spreadsheet runs: a ' before a leading = + - @ tab, CR or '."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def plain(cell: str) -> str:
    """The value `inert` was given."""
    return cell[1:] if cell.startswith("'") else cell


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Mapping[str, object]]) -> None:
    """A header and rows (missing keys empty), every cell `inert`, written atomically; read back with `plain` on each cell."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([inert(c) for c in columns])
    writer.writerows([inert(row.get(c, "")) for c in columns] for row in rows)
    write_bytes(path, buf.getvalue().encode())
