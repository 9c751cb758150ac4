"""Fetch files by CID from IPFS gateways: verified bytes, a CID-addressed cache, atomic writes and a summary.

A leaf: it knows (key, cid, sha256) rows, not what collection they come from."""

from __future__ import annotations

import hashlib
import re
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import NamedTuple, Sequence

from apeart.core.files import remove_temps, write_bytes
from apeart.core.progress import progress as progress_bar
from apeart.ipfs.cid import CidError, parse_cid, verify_file
from apeart.ipfs.gateway import GatewayClient, GatewayError
from apeart.core.errors import ApeartError


_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")


class Wanted(NamedTuple):
    """One file to fetch: saved as `<key>.png`, verified against `cid` and, when given, its `sha256`."""

    key: str
    cid: str
    sha256: str | None = None


class FetchError(ApeartError, RuntimeError):
    """Too few images verified; `summary` holds the full report."""

    def __init__(self, message: str, summary: dict):
        super().__init__(message)
        self.summary = summary


def fetch_images(
    rows: Sequence[Wanted],
    images_dir: Path,
    cache_dir: Path,
    gateways: list[str],
    *,
    concurrency: int = 16,
    per_gateway: int = 8,
    timeout_s: float = 30.0,
    retries: int = 4,
    max_bytes: int = 16 * 1024 * 1024,
    min_fraction: float = 0.95,
    progress: bool = True,
    trustless: bool = False,
    backoff_s: float = 0.5,
    failures: Sequence[dict] = (),
) -> dict:
    """Write each row's verified image to `images_dir/<key>.png` and return a summary.

    Content already in `cache_dir/<cid>` (re-verified) costs no request. `failures` from earlier steps (token
    metadata) count as requested and failed. Raises FetchError, after writing what verified, when
    verified/requested < min_fraction, and when none verified (an empty manifest included).
    """
    start = time.monotonic()
    by_cid = _group_by_cid(rows)
    images_dir, cache_dir = Path(images_dir), Path(cache_dir)
    for folder in (images_dir, cache_dir):
        folder.mkdir(parents=True, exist_ok=True)
        remove_temps(folder)
    failed = [dict(f) for f in failures]
    stats: Counter[str] = Counter()

    def store(group: list[Wanted], data: bytes) -> None:
        digest = hashlib.sha256(data).hexdigest()  # once per CID: every row of the group has these bytes
        for row in group:
            if row.sha256 and digest != row.sha256:
                failed.append({"key": row.key, "cid": row.cid, "reason": "sha256_mismatch"})
                continue
            _write_if_changed(images_dir / f"{row.key}.png", data)
            stats["verified"] += 1
            stats["bytes"] += len(data)

    client = GatewayClient(
        gateways,
        per_gateway=per_gateway,
        timeout_s=timeout_s,
        retries=retries,
        max_bytes=max_bytes,
        backoff_s=backoff_s,
        trustless=trustless,
    )
    with progress_bar(total=len(rows), disable=not (progress and rows), unit="img", desc="fetch") as bar:
        pending = []
        for cid, group in by_cid.items():
            data = _cached(cache_dir / cid)
            if data is None:
                pending.append(cid)
                continue
            store(group, data)
            stats["cached"] += len(group)
            bar.update(len(group))
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            futures = {pool.submit(_fetch_to_cache, client, cid, cache_dir): cid for cid in pending}
            for future in as_completed(futures):
                group = by_cid[futures[future]]
                try:
                    store(group, future.result())
                except GatewayError as exc:
                    failed.extend({"key": row.key, "cid": row.cid, "reason": exc.reason} for row in group)
                bar.update(len(group))
                bar.set_postfix(failed=len(failed), refresh=False)
    client.close()
    summary = _summary(len(rows) + len(failures), stats, failed, client.requests, time.monotonic() - start)
    if not summary["requested"]:
        raise FetchError("the manifest selects no images: 0 verified is a failed fetch", summary)
    if not summary["verified"] or summary["verified"] < min_fraction * summary["requested"]:
        raise FetchError(
            f"only {summary['verified']}/{summary['requested']} images verified (min_fraction {min_fraction}); "
            f"failures by reason: {summary['failed_by_reason']}",
            summary,
        )
    return summary


def _group_by_cid(rows: Sequence[Wanted]) -> dict[str, list[Wanted]]:
    """Validate rows (file-name-safe unique keys, CIDs) and group them by canonical CID so each is fetched once."""
    groups: dict[str, list[Wanted]] = {}
    seen: set[str] = set()
    for row in rows:
        if not isinstance(row.key, str) or not _KEY.fullmatch(row.key) or row.key in seen:
            raise ValueError(f"invalid or repeated key {row.key!r}")
        seen.add(row.key)
        try:
            cid = str(parse_cid(row.cid))
        except CidError as exc:
            raise ValueError(f"key {row.key}: {exc}") from None
        groups.setdefault(cid, []).append(row)
    return groups


def _fetch_to_cache(client: GatewayClient, cid: str, cache_dir: Path) -> bytes:
    data = client.fetch_file(cid)
    write_bytes(cache_dir / cid, data, durable=True)
    return data


def _cached(path: Path) -> bytes | None:
    """Cached bytes that still verify against their CID (the file name); a bad entry is removed."""
    if not path.is_file():
        return None
    data = path.read_bytes()
    if verify_file(parse_cid(path.name), data):
        return data
    path.unlink()
    return None


def _write_if_changed(path: Path, data: bytes) -> None:
    if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
        return
    write_bytes(path, data, durable=True)


def _summary(requested: int, stats: Counter, failed: list[dict], requests: int, seconds: float) -> dict:
    return {
        "requested": requested,
        "verified": stats["verified"],
        "failed": len(failed),
        "failed_by_reason": dict(sorted(Counter(f["reason"] for f in failed).items())),
        "cached": stats["cached"],
        "requests": requests,
        "bytes": stats["bytes"],
        "seconds": round(seconds, 3),
        "images_per_s": round(stats["verified"] / seconds, 2) if seconds > 0 else 0.0,
        "failures": sorted(failed, key=lambda f: (len(f["key"]), f["key"])),  # 9 before 10
    }
