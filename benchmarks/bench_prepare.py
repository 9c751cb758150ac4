"""The prepare stage's image work: each source decoded once for all its sizes (prepare.prepare_images with the
stage's two folders) against one pass per size (the stage before: a prepare_images call per folder, each
decoding every source again).

Run: python benchmarks/bench_prepare.py [--images 256] [--workers 2] [--repeats 5]
        [--out benchmarks/results/bench_prepare.jsonl]
The sources are demo images (631 px RGBA PNG, as BAYC's), prepared to 64 px (GAN) and params.yaml's
texnet.size; interleaved, medians of wall seconds and of CPU seconds (this process and its pool workers).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from harness import RESULTS, ROOT, interleaved, medians, record

from apeart.collection.demo import generate
from apeart.params import load_params
from apeart.prepare import GAN_SIZE, prepare_images


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(work: Callable[[], object]) -> tuple[float, float]:
    """(wall s, CPU s) of `work()`."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    work()
    return time.perf_counter() - wall, cpu_seconds() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS / "bench_prepare.jsonl", help="where the row is appended")
    args = parser.parse_args()

    texnet_size = load_params(ROOT / "params.yaml").texnet.size
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sources = [folder / "raw" / f"{row['token_id']}.png" for row in generate(range(args.images), 0, folder / "raw")]
        outs = {folder / "gan": GAN_SIZE, folder / "texnet": texnet_size}

        def calls(passes: list[dict[Path, int]]) -> Callable[[], tuple[float, float]]:
            """A prepare_images call per item of `passes`, timed from empty output folders."""
            def run() -> tuple[float, float]:
                for out in outs:
                    shutil.rmtree(out, ignore_errors=True)
                return timed(lambda: [prepare_images(sources, sizes, args.workers) for sizes in passes])
            return run

        runs = interleaved({"one decode per source": calls([outs]),
                            "one pass per size": calls([{out: size} for out, size in outs.items()])},
                           args.repeats, warmup=False)
    wall = medians({name: [r[0] for r in rows] for name, rows in runs.items()})
    cpu = medians({name: [r[1] for r in rows] for name, rows in runs.items()})
    print(f"{args.images} images, {GAN_SIZE} + {texnet_size} px, {args.workers} workers")
    print(f"{'':24} {'wall s':>7} {'CPU s':>7}")
    for name in runs:
        print(f"{name:24} {wall[name]:7.2f} {cpu[name]:7.2f}")
    ratio = {"wall": round(wall["one pass per size"] / wall["one decode per source"], 2),
             "cpu": round(cpu["one pass per size"] / cpu["one decode per source"], 2)}
    print("one pass per size / one decode per source:", ratio)
    record(args.out, {**{k: v for k, v in vars(args).items() if k != "out"}, "texnet_size": texnet_size},
           {"wall_s": {k: round(v, 3) for k, v in wall.items()}, "cpu_s": {k: round(v, 3) for k, v in cpu.items()},
            "ratio": ratio})


if __name__ == "__main__":
    main()
