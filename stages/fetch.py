"""Stage fetch: the collection's images and manifest into data/raw/ (demo generator or IPFS)."""
from __future__ import annotations

import time
from pathlib import Path

from apeart.collection import demo
from apeart.collection.bayc import fetch_bayc
from apeart.config import load_params
from apeart.files import write_json
from apeart.ipfs.fetch import FetchError
from apeart.manifest import write_manifest

RAW = Path("data/raw")


def main() -> None:
    params = load_params().data
    images = RAW / "images"
    start = time.perf_counter()
    if params.source == "demo":
        rows = demo.generate(range(params.limit), params.seed, images)
        summary = {"requested": params.limit, "verified": len(rows), "failed": 0}
    else:
        try:
            rows, summary = fetch_bayc(params, images)
        except FetchError as err:
            write_json(Path("metrics/fetch.json"), err.summary)
            raise SystemExit(f"fetch: {err}") from None
    write_json(RAW / "failures.json", summary.pop("failures", []))
    write_manifest(rows, RAW / "manifest.csv")
    seconds = time.perf_counter() - start
    summary.update(source=params.source, bytes=sum(int(r["bytes"]) for r in rows), seconds=round(seconds, 2))
    write_json(Path("metrics/fetch.json"), summary)
    print(f"fetch: {len(rows)} images ({params.source}) in {seconds:.1f}s")


if __name__ == "__main__":
    main()
