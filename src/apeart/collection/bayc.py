"""The real BAYC collection: manifest from params, images fetched and verified through IPFS gateways."""
from __future__ import annotations

from pathlib import Path

from apeart.collection.sources import (
    MAX_TOKEN_ID,
    ManifestRow,
    fetch_metadata_rows,
    read_plain_csv,
    read_provenance_csv,
    select_rows,
    select_token_ids,
    trait_columns,
)
from apeart.core.config import ParamsError
from apeart.collection.params import DataParams
from apeart.ipfs.fetch import FetchError, Wanted, fetch_images
from apeart.ipfs.gateway import GatewayClient

CACHE = Path(".cache/ipfs")


def manifest_rows(params: DataParams) -> tuple[list[ManifestRow], list[dict], int]:
    """Rows selected by `data.token_ids` / `data.limit` from the configured manifest; plus failures and the
    number of HTTP requests made for the manifest (token metadata)."""
    ids = params.token_ids or None
    if params.manifest == "metadata":
        client = GatewayClient(params.gateways, per_gateway=params.per_gateway, timeout_s=params.timeout_s,
                               retries=params.retries)
        wanted = select_token_ids(range(MAX_TOKEN_ID + 1), ids, params.limit)
        rows, failures = fetch_metadata_rows(client, wanted, CACHE, params.metadata_cid)
        client.close()
        return rows, failures, client.requests
    if not params.manifest_path:
        raise ParamsError(f"data.manifest_path: required for data.manifest: {params.manifest}")
    read = read_provenance_csv if params.manifest == "provenance" else read_plain_csv
    return select_rows(read(Path(params.manifest_path)), ids, params.limit), [], 0


def fetch_bayc(params: DataParams, images_dir: Path) -> tuple[list[dict], dict]:
    """Fetch and verify the selected images into `images_dir`; returns (manifest rows, summary)."""
    rows, failures, requests = manifest_rows(params)
    wanted = [Wanted(str(row.token_id), row.cid, row.sha256) for row in rows]
    earlier = [{"key": str(f.pop("token_id")), **f} for f in map(dict, failures)]
    try:
        summary = fetch_images(
            wanted, images_dir, CACHE / "blocks", params.gateways, concurrency=params.concurrency,
            per_gateway=params.per_gateway, timeout_s=params.timeout_s, retries=params.retries,
            max_bytes=params.max_bytes, min_fraction=params.min_fraction, failures=earlier)
    except FetchError as err:
        err.summary["requests"] += requests
        _by_token(err.summary)
        raise
    summary["requests"] += requests
    _by_token(summary)
    failed = {f["token_id"] for f in summary["failures"]}
    out = []
    for row in rows:
        path = images_dir / f"{row.token_id}.png"
        if row.token_id in failed or not path.is_file():
            continue
        out.append({"token_id": row.token_id, "cid": row.cid, "sha256": row.sha256 or "",
                    "bytes": path.stat().st_size, **trait_columns(row.traits)})
    return out, summary


def _by_token(summary: dict) -> None:
    """The summary's failures named by token id (an int) instead of the fetcher's file key."""
    summary["failures"] = [{"token_id": int(f.pop("key")), **f} for f in summary["failures"]]
