"""Stage fetch: the collection's images and manifest into data/raw/ (demo generator or IPFS)."""
from __future__ import annotations

import time
from pathlib import Path

from apeart.collection import demo
from apeart.collection.bayc import fetch_bayc
from apeart.collection.manifest import write_manifest
from apeart.core.cli import run_stage
from apeart.collection.params import DataParams
from apeart.core.config import load_section
from apeart.core.files import write_json
from apeart.core.metrics import write_metrics
from apeart.ipfs.fetch import FetchError

RAW = Path("data/raw")
PERF_KEYS = ("seconds", "images_per_s", "cached", "requests")


def main() -> None:
    params = load_section(DataParams)
    images = RAW / "images"
    start = time.perf_counter()
    if params.source == "demo":
        rows = demo.generate(range(params.limit), params.seed, images)
        summary = {"requested": params.limit, "verified": len(rows), "failed": 0}
    else:
        try:
            rows, summary = fetch_bayc(params, images)
        except FetchError as err:
            write_reports(err.summary, time.perf_counter() - start)  # what failed and why, also when too few verified
            raise
    summary.update(bytes=sum(int(r["bytes"]) for r in rows))
    write_manifest(rows, RAW / "manifest.csv")
    seconds = time.perf_counter() - start
    write_reports(summary, seconds)


def write_reports(summary: dict, seconds: float) -> None:
    """data/raw/failures.json and metrics/fetch.json; what varies run to run (timing, requests, cache hits) is
    printed, not saved."""
    summary = dict(summary)
    write_json(RAW / "failures.json", summary.pop("failures", []))
    perf = {key: summary.pop(key) for key in PERF_KEYS if key in summary}
    write_metrics(Path("metrics/fetch.json"), "fetch", summary)
    print(f"fetch: {summary.get('verified', 0)}/{summary.get('requested', 0)} images verified; "
          + ", ".join(f"{k} {v}" for k, v in {**perf, "seconds": round(seconds, 2)}.items()))


if __name__ == "__main__":
    run_stage("fetch", main)
