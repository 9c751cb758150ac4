"""Manifest rows (token id, image CID, optional SHA-256, traits) from BAYC's provenance CSV, token metadata or a plain CSV."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from apeart.collection.manifest import BASE_COLUMNS, ManifestError
from apeart.core.csvfiles import csv_records
from apeart.core.csvfiles import cut as _cut
from apeart.ipfs.cid import CidError, Directory, NameNotFound, parse_cid, read_file
from apeart.ipfs.gateway import BlockCache, GatewayClient, GatewayError

PROVENANCE_HEADER = ["INITIAL SEQUENCE INDEX", "ASSIGNED BAYC TOKEN ID", "SHA-256 HASH", "IPFS HASH"]
PLAIN_HEADERS = (["token_id", "cid"], ["token_id", "cid", "sha256"])
MAX_TOKEN_ID = 9999
MAX_METADATA_BYTES = 64 * 1024
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class ManifestRow:
    """One token to fetch: its image CID, the image's SHA-256 when known, and its traits."""

    token_id: int
    cid: str
    sha256: str | None = None
    traits: dict[str, str] = field(default_factory=dict)


def parse_token_id(text: str) -> int:
    """A token id written as a canonical decimal in 0..9999."""
    if not re.fullmatch(r"0|[1-9][0-9]{0,3}", text):
        raise ManifestError(f"invalid token id {text!r}: want an integer in 0..{MAX_TOKEN_ID}")
    return int(text)


def check_cid(text: str) -> str:
    """The canonical CID string, or ManifestError."""
    try:
        return str(parse_cid(text))
    except CidError as exc:
        raise ManifestError(str(exc)) from None


def check_sha256(text: str) -> str:
    """A lower-case hex SHA-256 digest, or ManifestError."""
    if not _SHA256.fullmatch(text):
        raise ManifestError(f"invalid SHA-256 {text!r}")
    return text.lower()


def read_provenance_csv(path: Path) -> list[ManifestRow]:
    """Rows from BAYC's provenance CSV (exact header, SHA-256 and CID per token)."""

    def row(rec: list[str]) -> ManifestRow:
        return ManifestRow(parse_token_id(rec[1]), check_cid(rec[3]), check_sha256(rec[2]))

    return _read_csv(path, [PROVENANCE_HEADER], row)


def read_plain_csv(path: Path) -> list[ManifestRow]:
    """Rows from a `token_id,cid[,sha256]` CSV (header required, sha256 may be empty)."""

    def row(rec: list[str]) -> ManifestRow:
        return ManifestRow(parse_token_id(rec[0]), check_cid(rec[1]), check_sha256(rec[2]) if len(rec) > 2 and rec[2] else None)

    return _read_csv(path, list(PLAIN_HEADERS), row)


def trait_columns(traits: dict[str, str]) -> dict[str, str]:
    """Manifest columns for traits (names lower-cased); ManifestError when a name would overwrite a base
    column or two names differ only in case."""
    columns: dict[str, str] = {}
    for name, value in traits.items():
        column = name.lower()
        if column in BASE_COLUMNS:
            raise ManifestError(f"trait {name!r} would overwrite the manifest column {column!r}")
        if column in columns:
            other = next(n for n in traits if n.lower() == column)
            raise ManifestError(f"traits {other!r} and {name!r} differ only in case")
        columns[column] = value
    return columns


def parse_token_metadata(token_id: int, body: bytes) -> ManifestRow:
    """A row from token metadata JSON: `image: ipfs://<cid>` and `attributes` of trait_type/value."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as exc:  # bad UTF-8 or JSON, a huge integer literal, deep nesting
        raise ManifestError(f"token {token_id}: metadata is not usable JSON ({_cut(str(exc))})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("image"), str) or not doc["image"].startswith("ipfs://"):
        raise ManifestError(f"token {token_id}: metadata has no `image: ipfs://<cid>`")
    attributes = doc.get("attributes", [])
    if not isinstance(attributes, list):
        raise ManifestError(f"token {token_id}: `attributes` is not a list")
    traits: dict[str, str] = {}
    for attr in attributes:
        name, value = (attr.get("trait_type"), attr.get("value")) if isinstance(attr, dict) else (None, None)
        scalar = isinstance(value, (str, int, float)) and not isinstance(value, bool)
        if not (_short_text(name) and scalar and _short_text(str(value))):
            raise ManifestError(f"token {token_id}: bad attribute {_cut(repr(attr))}")
        if name in traits:
            raise ManifestError(f"token {token_id}: trait {name!r} given twice")
        traits[name] = str(value)
    try:
        trait_columns(traits)
    except ManifestError as exc:
        raise ManifestError(f"token {token_id}: {exc}") from None
    return ManifestRow(token_id, check_cid(doc["image"][len("ipfs://") :]), None, traits)


def fetch_metadata_rows(
    client: GatewayClient,
    token_ids: Iterable[int],
    cache_dir: Path,
    metadata_cid: str,
    workers: int = 8,
) -> tuple[list[ManifestRow], list[dict]]:
    """Rows from the token JSON files of the directory `metadata_cid`; returns (rows, failures).

    The directory (flat or HAMT-sharded) and each JSON file are read as `?format=raw` blocks, every block
    verified against its CID and kept in `cache_dir/dag/` (re-verified on reuse, so a rerun asks nothing).
    """
    blocks = BlockCache(cache_dir / "dag", client.fetch_block)
    directory = Directory(parse_cid(check_cid(metadata_cid)), blocks.get)

    def one(token_id: int) -> ManifestRow | dict:
        failure = {"token_id": token_id, "cid": f"{metadata_cid}/{token_id}"}
        try:
            return parse_token_metadata(token_id, read_file(directory.lookup(str(token_id)), blocks.get, MAX_METADATA_BYTES))
        except GatewayError as exc:
            return {**failure, "reason": f"metadata_{exc.reason}"}
        except NameNotFound:
            return {**failure, "reason": "metadata_missing"}
        except CidError as exc:
            return {**failure, "reason": "metadata_bad_dag", "detail": _cut(str(exc))}
        except ManifestError as exc:
            return {**failure, "reason": "metadata_invalid", "detail": _cut(str(exc))}

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(one, sorted(set(token_ids))))
    return [r for r in results if isinstance(r, ManifestRow)], [r for r in results if isinstance(r, dict)]


def parse_selection(spec: str) -> set[int]:
    """Token ids from a spec like "0-99,1147"."""
    ids: set[int] = set()
    for part in spec.split(","):
        low, sep, high = part.strip().partition("-")
        first, last = parse_token_id(low), parse_token_id(high) if sep else parse_token_id(low)
        if last < first:
            raise ManifestError(f"empty range {part!r}")
        ids.update(range(first, last + 1))
    return ids


def select_token_ids(available: Iterable[int], ids: str | None = None, limit: int | None = None) -> list[int]:
    """Sorted token ids from `available` that match `ids` (a selection spec), at most `limit` of them."""
    chosen = sorted(set(available) & parse_selection(ids) if ids else set(available))
    if limit is not None and limit < 0:
        raise ManifestError(f"limit must be >= 0, got {limit}")
    return chosen[:limit]


def select_rows(rows: list[ManifestRow], ids: str | None = None, limit: int | None = None) -> list[ManifestRow]:
    """Rows in token id order, filtered by a selection spec and capped at `limit`."""
    by_id = {row.token_id: row for row in rows}
    return [by_id[i] for i in select_token_ids(by_id, ids, limit)]


def _read_csv(path: Path, headers: list[list[str]], build: Callable[[list[str]], ManifestRow]) -> list[ManifestRow]:
    """Check the header, build a row per record (errors name the line) and reject duplicate token ids."""
    rows: dict[int, ManifestRow] = {}
    records = csv_records(path, ManifestError)
    _, header = next(records, (1, None))
    if header not in headers:
        raise ManifestError(f"{path}:1: header {_cut(repr(header))}, expected one of {headers}")
    for line, rec in records:
        if not rec:
            continue
        if len(rec) != len(header):
            raise ManifestError(f"{path}:{line}: {len(rec)} fields, expected {len(header)}")
        try:
            row = build([cell.strip() for cell in rec])
        except ManifestError as exc:
            raise ManifestError(f"{path}:{line}: {_cut(str(exc))}") from None
        if row.token_id in rows:
            raise ManifestError(f"{path}:{line}: token {row.token_id} appears twice")
        rows[row.token_id] = row
    return sorted(rows.values(), key=lambda row: row.token_id)


def _short_text(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 200 and value.isprintable()
