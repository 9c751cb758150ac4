"""OpenMP wait policy: how long idle torch threads spin before they sleep, on a quiet CPU and beside busy ones.

    python benchmarks/bench_wait_policy.py [--repeats 3] [--spins 1000 3000 10000] [--loads 0 1 2]
        [--out benchmarks/results/bench_wait_policy.jsonl]

The policy is read when torch loads, so every measurement is a fresh process: `gan` times 32 train_gan steps at
params.yaml's config (128 images of data/prepared/gan: `dvc repro prepare` first; after a warm-up epoch), `nst`
5 Gatys L-BFGS steps (128 px, batch 4, bench_nst's inputs). Policies: PASSIVE (threads sleep at once), GOMP_SPINCOUNT=N (libgomp spins N times, then
sleeps; apeart's default), and libgomp's own default (300,000 spins). Loads: 0, 1 or 2 processes spinning in a
Python loop beside it. Policies and loads are interleaved within each repeat; medians reported, and each as a
ratio to PASSIVE under the same load.
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import cpu_model, interleaved, record  # no torch: the children load it

ROOT = Path(__file__).resolve().parents[1]
LIBGOMP_DEFAULT = 300_000  # libgomp's spin count when neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT is set


def child(work: str) -> None:
    """Print seconds per step of `work` (gan | nst) under this process's OpenMP environment."""
    import apeart  # noqa: F401, I001  (first: its wait-policy default applies only if the parent set none)
    import torch
    from apeart.params import load_params

    if work == "gan":
        from apeart.core.datasets import load_pngs
        from bench_gan import Clock, make_trainer

        params = dataclasses.replace(load_params(ROOT / "params.yaml").gan, epochs=3, device="cpu")
        data = load_pngs(ROOT / "data/prepared/gan")[1][:128]
        with tempfile.TemporaryDirectory() as tmp:
            trainer, clock = make_trainer(params, data, Path(tmp)), Clock()
            trainer._epoch(0, clock)  # warm-up
            start = time.perf_counter()
            trainer._epoch(1, clock)
            trainer._epoch(2, clock)
            print((time.perf_counter() - start) / (2 * trainer.steps_per_epoch))
    else:
        from bench_nst import inputs, ours

        params = dataclasses.replace(load_params(ROOT / "params.yaml").nst, size=128, steps=5)
        content, style = inputs(128, 4)
        ours(content, style, params, torch.device("cpu"))  # warm-up
        print(ours(content, style, params, torch.device("cpu")) / params.steps)


def policy_env(policy: str) -> dict[str, str]:
    """The environment of one policy: "PASSIVE", or a spin count."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    return {**env, "OMP_WAIT_POLICY": "PASSIVE"} if policy == "PASSIVE" else {**env, "GOMP_SPINCOUNT": policy}


def measure(work: str, policy: str, load: int) -> float:
    """Seconds per step of `work` in a fresh process under `policy`, beside `load` busy processes."""
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(load)]
    try:
        out = subprocess.run([sys.executable, __file__, "--child", work], env=policy_env(policy),
                             capture_output=True, text=True, check=True)
    finally:
        for process in busy:
            process.kill()
            process.wait()
    return float(out.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", choices=["gan", "nst"], help=argparse.SUPPRESS)
    parser.add_argument("--work", nargs="+", default=["gan", "nst"], choices=["gan", "nst"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--spins", type=int, nargs="+", default=[1000, 3000, 10000])
    parser.add_argument("--loads", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/bench_wait_policy.jsonl",
                        help="where the row is appended (one per run)")
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    policies = ["PASSIVE", *map(str, args.spins), str(LIBGOMP_DEFAULT)]
    runs = {(work, policy, load): functools.partial(measure, work, policy, load)
            for work in args.work for load in args.loads for policy in policies}
    times = interleaved(runs, args.repeats, warmup=False)  # each run a fresh process: nothing to warm up
    from apeart.params import load_params  # loads torch: not before the children are done

    params = load_params(ROOT / "params.yaml")
    config = {"gan": {**dataclasses.asdict(params.gan), "epochs": 3, "device": "cpu"}, "gan_images": 128,
              "nst": {**dataclasses.asdict(params.nst), "size": 128, "steps": 5}, "nst_batch": 4,
              "work": args.work, "repeats": args.repeats, "policies": policies, "loads": args.loads}
    print(f"{cpu_model()}, {os.cpu_count()} CPUs; medians of {args.repeats} interleaved repeats, s/step (x PASSIVE)")
    results: dict[str, dict] = {}
    for work in args.work:
        for load in args.loads:
            passive = statistics.median(times[work, "PASSIVE", load])
            cells = []
            for policy in policies:
                median = statistics.median(times[work, policy, load])
                cells.append(f"{policy} {median:.4f} ({median / passive:.2f}x)")
                results.setdefault(f"{work}, {load} busy", {})[policy] = {"median_s_per_step": median,
                                                                          "runs": times[work, policy, load]}
            print(f"{work}, {load} busy: " + ", ".join(cells))
    record(args.out, config, {"s_per_step": results})

if __name__ == "__main__":
    main()
