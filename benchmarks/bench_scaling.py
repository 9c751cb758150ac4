"""Scaling under torchrun: 1 process against N, prints figures, appends a JSON line, asserts nothing about time.

    python benchmarks/bench_scaling.py                     # this machine's cores, 3 interleaved repeats
    python benchmarks/bench_scaling.py --processes 2 --repeats 5
    python benchmarks/bench_scaling.py --kinds stylize_texnet --images 1024   # the default collection's size

The three kinds of work the pipeline shards or trains data-parallel, each launched the way its stage launches
it, on the same work for every launch:
  train_gan      gan.Trainer at params.yaml's gan (batch_size the global batch), `--gan-images` random apes,
                 one epoch: steps/s. 1 process uses every core (torch's default); N ranks `cores / N` threads each
                 (join_training), DDP averaging gradients on gloo.
  stylize_texnet texnet.collection.stylise_collection of `--images` at texnet.size through an untrained network
                 (speed does not depend on the weights): images/s. 1 process = the stage's own pool of
                 texnet.workers one-thread processes (and, as the reference, that pool with 1 worker); N ranks of
                 one thread each.
  gatys          nst.collection.stylise_shard of `--gatys-images` at nst.size, chunks of nst.content_count,
                 `--gatys-steps` L-BFGS steps: images/s. The fair 1-process baseline uses every core (torch's
                 default threads); the stage itself runs one thread per process (the bytes must not depend on
                 the process count), N ranks.
Each launch is a fresh process tree (python, or torchrun --standalone); its time is measured inside, from the
first unit of work to the last (interpreter, torch and process-group start-up excluded; rank 0 reports the
slowest rank). Within each repeat the launches run in turn (interleaved); medians over repeats.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import interleaved, record  # no torch: the launches load it

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import dataclasses, json, os, sys, time
from pathlib import Path
import apeart, torch
from apeart.params import load_params
from apeart.core.distributed import barrier, gather_objects, join, join_training, leave


def main():
    work, out, kind, images, threads, steps, workers = sys.argv[1:8]
    work, images, threads, steps, workers = Path(work), int(images), int(threads), int(steps), int(workers)
    params = load_params(Path(sys.argv[8]))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, world = join() if kind != "train_gan" else join_training(world, torch.device("cpu"), RuntimeError)[:2]
    if threads:
        torch.set_num_threads(threads)
    if kind == "train_gan":
        from apeart.gan.train import Trainer
        data = torch.randint(0, 256, (images, 3, 64, 64), generator=torch.Generator().manual_seed(0),
                             dtype=torch.uint8)
        gan = dataclasses.replace(params.gan, epochs=1, processes=world, device="cpu")
        trainer = Trainer(gan, data, torch.device("cpu"), work / f"ck-{world}.pt", rank, world)
        barrier(world)
        start = time.perf_counter()
        trainer.run()
        units = trainer.state.step
    elif kind == "stylize_texnet":
        from apeart.texnet.collection import stylise_collection
        texnet = dataclasses.replace(params.texnet, workers=workers)
        names = [str(i) for i in range(images)]
        barrier(world)
        start = time.perf_counter()
        stylise_collection(work / "texnet.pt", texnet, work / "prepared", names, work / f"out-{os.getpid()}",
                           torch.device("cpu"), lambda name: None, rank, world)
        units = images
    else:
        from apeart.nst.collection import stylise_shard
        nst = dataclasses.replace(params.nst, steps=steps)
        content = torch.rand(images, 3, nst.size, nst.size, generator=torch.Generator().manual_seed(1))
        styles = [torch.rand(3, nst.size, nst.size, generator=torch.Generator().manual_seed(2))]
        names = [str(i) for i in range(images)]
        barrier(world)
        start = time.perf_counter()
        stylise_shard(names, lambda chunk: content[[int(n) for n in chunk]], styles, nst, work / f"out-{os.getpid()}",
                      torch.device("cpu"), lambda chunk: None, rank, world)
        units = images
    seconds = max(gather_objects(time.perf_counter() - start, world))
    if rank == 0:
        Path(out).write_text(json.dumps({"units": units, "seconds": seconds}))
    leave(world)


if __name__ == "__main__":  # the texnet pool spawns workers that import this file
    main()
"""


def launch(kind: str, processes: int, threads: int, workers: int, args: argparse.Namespace,
           work: Path) -> tuple[float, float]:
    """One launch's units (steps or images) per second of work, and per second of wall-clock (start-up included)."""
    script, out = work / "child.py", work / "result.json"
    script.write_text(CHILD)
    out.unlink(missing_ok=True)
    images = {"train_gan": args.gan_images, "stylize_texnet": args.images, "gatys": args.gatys_images}[kind]
    launcher = ["-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}"] if processes > 1 else []
    cmd = [sys.executable, *launcher, "-m", "apeart", str(script), str(work), str(out), kind, str(images), str(threads),
           str(args.gatys_steps), str(workers), str(ROOT / "params.yaml")]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT, env={**os.environ, "APEART_NPROC": "1"})
    wall = time.perf_counter() - start
    result = json.loads(out.read_text())
    for ck in work.glob("ck-*.pt"):
        ck.unlink()
    return result["units"] / result["seconds"], result["units"] / wall


def prepare(work: Path, images: int) -> None:
    """The texture network's inputs: `images` demo-sized random PNGs at texnet.size and an untrained model."""
    import apeart  # noqa: F401  (OMP_WAIT_POLICY before torch)
    import torch

    from apeart.params import load_params
    from apeart.core.files import save_png
    from apeart.core.grids import to_pil
    from apeart.texnet.models import save_model
    from apeart.texnet.train import seeded_net

    texnet = load_params(ROOT / "params.yaml").texnet
    pixels = torch.randint(0, 256, (images, 3, texnet.size, texnet.size), generator=torch.Generator().manual_seed(3),
                           dtype=torch.uint8)
    for i, image in enumerate(pixels):
        save_png(to_pil(image), work / "prepared" / f"{i}.png")
    save_model(seeded_net(texnet), work / "texnet.pt")


def main() -> None:
    cores = len(os.sched_getaffinity(0))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--processes", type=int, default=cores, help="N, the processes against one")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--gan-images", type=int, default=512, help="train_gan: one epoch over this many")
    parser.add_argument("--images", type=int, default=128, help="stylize_texnet: images")
    parser.add_argument("--gatys-images", type=int, default=8, help="gatys: images")
    parser.add_argument("--gatys-steps", type=int, default=20, help="gatys: L-BFGS steps")
    parser.add_argument("--kinds", default="train_gan,stylize_texnet,gatys", help="comma list of the kinds to run")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/bench_scaling.jsonl")
    args = parser.parse_args()
    n = args.processes
    # (name, kind, processes, threads (0: torch's default), pool workers)
    launches = [
        ("train_gan 1 process", "train_gan", 1, 0, 0),
        (f"train_gan {n} ranks", "train_gan", n, 0, 0),
        ("stylize_texnet 1 process, 1 worker", "stylize_texnet", 1, 0, 1),
        (f"stylize_texnet 1 process, {n} workers (the stage)", "stylize_texnet", 1, 0, n),
        (f"stylize_texnet {n} ranks", "stylize_texnet", n, 1, 0),
        (f"gatys 1 process, {cores} threads", "gatys", 1, 0, 0),
        ("gatys 1 process, 1 thread", "gatys", 1, 1, 0),
        (f"gatys {n} ranks, 1 thread each (the stage)", "gatys", n, 1, 0),
    ]
    launches = [launch for launch in launches if launch[1] in args.kinds.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if "stylize_texnet" in args.kinds:
            prepare(work, args.images)

        def timed(name: str, *how: Any) -> Callable[[], tuple[float, float]]:
            def run() -> tuple[float, float]:
                work_rate, wall_rate = launch(*how, args, work)
                print(f"{name}: {work_rate:.3f}/s ({wall_rate:.3f}/s wall)", flush=True)
                return work_rate, wall_rate
            return run

        rates = interleaved({name: timed(name, *how) for name, *how in launches}, args.repeats, warmup=False)
    medians = {name: statistics.median(r for r, _ in values) for name, values in rates.items()}
    walls = {name: statistics.median(w for _, w in values) for name, values in rates.items()}
    baseline = {"train_gan": "train_gan 1 process", "stylize_texnet": "stylize_texnet 1 process, 1 worker",
                "gatys": f"gatys 1 process, {cores} threads"}
    print(f"\n{cores} cores, medians of {args.repeats} interleaved repeats; x: speed-up vs the first row of its kind;"
          " wall: start-up included")
    rows = []
    for name, kind, *_ in launches:
        unit = "steps/s" if kind == "train_gan" else "images/s"
        speedup, wall_speedup = medians[name] / medians[baseline[kind]], walls[name] / walls[baseline[kind]]
        print(f"  {name:50s} {medians[name]:8.3f} {unit:8s} x{speedup:.2f}   wall {walls[name]:8.3f} x{wall_speedup:.2f}")
        rows.append({"launch": name, "kind": kind, "median_per_s": round(medians[name], 4), "speedup": round(speedup, 3),
                     "median_wall_per_s": round(walls[name], 4), "wall_speedup": round(wall_speedup, 3),
                     "runs": [[round(r, 4), round(w, 4)] for r, w in rates[name]]})
    from apeart.params import load_params  # torch loads here, after the launches

    params = load_params(ROOT / "params.yaml")
    config = {section: dataclasses.asdict(getattr(params, section)) for section in ("gan", "texnet", "nst")}
    config.update(cores=cores, processes=n, repeats=args.repeats, gan_images=args.gan_images, images=args.images,
                  gatys_images=args.gatys_images, gatys_steps=args.gatys_steps, kinds=args.kinds)
    record(args.out, config, {"rows": rows})


if __name__ == "__main__":
    main()
