"""Benchmark fetch_images on a loopback gateway with added latency: defaults vs serial, plus a cached rerun.

Run: python benchmarks/bench_fetch.py [--count 1000] [--size 150000] [--latency 0.1] [--serial-subset 100]
        [--out benchmarks/results/bench_fetch.jsonl]
The serial run fetches `--serial-subset` images and is extrapolated to `--count` (0 runs it on all).
"""

from __future__ import annotations

import argparse
import random
import tempfile
from pathlib import Path

from apeart.collection.sources import ManifestRow
from apeart.ipfs.fetch import fetch_images
from gateway import LatencyGateway  # benchmarks/ is sys.path[0] when this runs as a script
from harness import RESULTS, record


def run(rows: list[ManifestRow], url: str, workdir: Path, **options: object) -> dict:
    """One fetch into fresh folders under `workdir` (pass the same workdir again for a cached rerun)."""
    return fetch_images(rows, workdir / "images", workdir / "cache", [url], progress=False, min_fraction=1.0, **options)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--size", type=int, default=150_000)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--serial-subset", type=int, default=100)
    parser.add_argument("--out", type=Path, default=RESULTS / "bench_fetch.jsonl", help="where the row is appended")
    args = parser.parse_args()

    rng = random.Random(0)
    with LatencyGateway(args.latency) as gateway, tempfile.TemporaryDirectory() as tmp:
        rows = [ManifestRow(i, gateway.add_file(rng.randbytes(args.size))) for i in range(args.count)]
        parallel = run(rows, gateway.url, Path(tmp, "parallel"))
        rerun = run(rows, gateway.url, Path(tmp, "parallel"))
        subset = rows[: args.serial_subset or args.count]
        serial = run(subset, gateway.url, Path(tmp, "serial"), concurrency=1, per_gateway=1)

    serial_total = serial["seconds"] * args.count / len(subset)
    note = "" if len(subset) == args.count else f" (measured on {len(subset)}, extrapolated)"
    print(f"{args.count} payloads of {args.size} bytes, {args.latency * 1000:.0f} ms added latency per request")
    print(f"defaults:      {parallel['seconds']:8.2f} s  {parallel['images_per_s']:7.1f} img/s  {parallel['requests']} requests")
    print(f"concurrency 1: {serial_total:8.2f} s  {serial['images_per_s']:7.1f} img/s{note}")
    print(f"cached rerun:  {rerun['seconds']:8.2f} s  {rerun['requests']} requests")
    print(f"speed-up defaults vs serial: {serial_total / parallel['seconds']:.1f}x")
    keys = ("seconds", "images_per_s", "requests")
    record(args.out, {k: v for k, v in vars(args).items() if k != "out"},
           {"defaults": {k: parallel[k] for k in keys}, "serial": {k: serial[k] for k in keys},
            "serial_images": len(subset), "cached_rerun": {k: rerun[k] for k in keys},
            "speedup_vs_serial": round(serial_total / parallel["seconds"], 2)})


if __name__ == "__main__":
    main()
