"""The training memory estimates (`gan.models.training_need`, `vaegan.models.training_need`) against what one
epoch of the trainer really takes: its peak resident memory less the memory before the trainer was built.

Run: python benchmarks/bench_memory.py [--configs "vaegan:width=1,batch_size=64;gan:nz=20000"] [--batches 4]
        [--out benchmarks/results/bench_memory.jsonl]
Each configuration is params.yaml's section with the given keys set and `epochs` 1, trained in a fresh process
on `--batches` batches of random 64 px images on the CPU.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from harness import RESULTS, ROOT, record

MEASURE = """
import dataclasses, json, sys, tempfile
from pathlib import Path
import apeart, psutil, torch
from apeart.core.runtime import deterministic, peak_rss_mb
from apeart.params import load_params
import apeart.{model}.models as models
from apeart.{model}.train import Trainer

params = dataclasses.replace(getattr(load_params("params.yaml"), {model!r}), epochs=1, device="cpu", **{sets!r})
need = models.training_need(params, torch.device("cpu"))
deterministic(params.seed)
data = torch.randint(0, 256, ({batches} * params.batch_size, 3, 64, 64), dtype=torch.uint8)
before = psutil.Process().memory_info().rss / 2**20
Trainer(params, data, torch.device("cpu"), Path(tempfile.mkdtemp()) / "checkpoint.pt").run()
print(json.dumps({{"estimate_mib": round((need.device + need.host) / 2**20), "rose_mib": round(peak_rss_mb() - before)}}))
"""


def parse(config: str) -> tuple[str, dict[str, float]]:
    """`vaegan:width=1,batch_size=64` -> ("vaegan", {"width": 1, "batch_size": 64})."""
    model, _, sets = config.partition(":")
    return model, {key: json.loads(value) for key, value in (item.split("=") for item in sets.split(",") if item)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="vaegan:width=1,batch_size=64;gan:nz=20000")
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--out", type=Path, default=RESULTS / "bench_memory.jsonl", help="where the row is appended")
    args = parser.parse_args()

    results = {}
    for config in args.configs.split(";"):
        model, sets = parse(config)
        code = MEASURE.format(model=model, sets=sets, batches=args.batches)
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout
        results[config] = json.loads(out.splitlines()[-1])
        print(f"{config:40} estimate {results[config]['estimate_mib']:6d} MiB, "
              f"peak RSS rose {results[config]['rose_mib']:6d} MiB")
    record(args.out, {k: v for k, v in vars(args).items() if k != "out"}, {"memory": results})


if __name__ == "__main__":
    main()
