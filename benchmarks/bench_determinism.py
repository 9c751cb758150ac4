"""Cost (and bitwise effect) of the cross-machine determinism levers (issue 29), on realistic work.

Each (workload, config) runs in a fresh process, configs interleaved A/B/C/A/B/C... over --reps rounds; the
table gives each config's median time / the `current` config's median, and whether its result's bytes equal
`current`'s (sha256 of the trained weights or the stylised images). Workloads, at params.yaml's values:
  gan     N train_gan steps (Trainer._epoch, default gan params: batch 8, ngf/ndf 32, 64x64) on seeded noise images
  nst     N L-BFGS steps of stylize (transfer(), nst.size, content_count images, a batch of 8 style images)
  texnet  N train_texnet steps (Trainer._epoch, texnet params) on seeded noise images
Configs (env set before torch loads; threads and mkldnn set after core.runtime.deterministic):
  current   the stages' path (core.runtime.THREADS threads, the machine's ISA and MKL path)
  t1/t2/t4  torch.set_num_threads(k)
  avx2      ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2
  cbwr      MKL_CBWR=AVX2;  compat: MKL_CBWR=COMPATIBLE
  nomkldnn  torch.backends.mkldnn.enabled = False
  a_b_c     those levers together
usage: python benchmarks/bench_determinism.py [--workloads gan,nst,texnet] [--configs current,avx2,...] [--reps 3]
       [--gan-steps 200] [--nst-steps 10] [--texnet-steps 12] [--out benchmarks/results/bench_determinism.jsonl]
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import provenance, record  # no torch: a child sets its environment before loading it

ROOT = Path(__file__).resolve().parents[1]
AVX2 = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
CONFIGS: dict[str, dict] = {
    "current": {"env": {}},
    "t1": {"env": {}, "threads": 1},
    "t4": {"env": {}, "threads": 4},
    "avx2": {"env": AVX2},
    "cbwr": {"env": {"MKL_CBWR": "AVX2"}},
    "compat": {"env": {"MKL_CBWR": "COMPATIBLE"}},
    "nomkldnn": {"env": {}, "mkldnn": False},
    "avx2_compat": {"env": {**AVX2, "MKL_CBWR": "COMPATIBLE"}},
    "avx2_compat_nomkldnn": {"env": {**AVX2, "MKL_CBWR": "COMPATIBLE"}, "mkldnn": False},
}
LEVER_ENV = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_CBWR", "MKL_ENABLE_INSTRUCTIONS", "OMP_NUM_THREADS",
             "MKL_NUM_THREADS", "OPENBLAS_CORETYPE")


def digest(tensors) -> str:
    h = hashlib.sha256()
    for t in tensors:
        h.update(t.detach().contiguous().cpu().numpy().tobytes())
    return h.hexdigest()[:16]


def child(workload: str, steps: int, threads: int | None, mkldnn: bool) -> dict:
    import apeart  # noqa: F401  (first: its env levers must precede torch)
    import torch
    from tqdm import tqdm

    from apeart.params import load_params
    from apeart.core.runtime import deterministic

    def configure(seed: int) -> None:
        """The stages' setup (deterministic), then this config's thread count and mkldnn switch."""
        deterministic(seed)
        if threads:
            torch.set_num_threads(threads)
        torch.backends.mkldnn.enabled = mkldnn

    params = load_params(ROOT / "params.yaml")
    cpu = torch.device("cpu")
    noise = torch.Generator().manual_seed(1234)
    bar = tqdm(disable=True)
    with tempfile.TemporaryDirectory() as tmp:
        if workload == "gan":
            from apeart.gan.train import Trainer
            p = params.gan
            data = torch.randint(0, 256, (p.batch_size * steps, 3, 64, 64), dtype=torch.uint8, generator=noise)
            configure(p.seed)
            trainer = Trainer(p, data, cpu, Path(tmp) / "ckpt.pt")
            t = time.perf_counter()
            trainer._epoch(0, bar)
            seconds = time.perf_counter() - t
            sha = digest([*trainer.G.state_dict().values(), *trainer.D.state_dict().values(),
                          *trainer.sampler.state_dict().values()])
        elif workload == "nst":
            from apeart.nst.transfer import transfer
            p = dataclasses.replace(params.nst, steps=steps, snapshots=1)
            content = torch.rand(p.content_count, 3, p.size, p.size, generator=noise)
            styles = [torch.rand(3, p.size, p.size, generator=noise) for _ in range(params.sample.batch_size)]
            configure(p.seed)
            result = transfer(content, styles, p, cpu)
            seconds = result.seconds_per_step * steps  # the optimisation loop only (not the VGG load)
            sha = digest([result.images, torch.tensor(result.total)])
        elif workload == "texnet":
            from apeart.texnet.train import Trainer
            p = dataclasses.replace(params.texnet, epochs=1)
            images = torch.randint(0, 256, (p.batch_size * steps, 3, p.size, p.size), dtype=torch.uint8,
                                   generator=noise)
            styles = [torch.rand(3, p.size, p.size, generator=noise) for _ in range(params.sample.batch_size)]
            configure(p.seed)
            trainer = Trainer(p, params.nst, images, styles, cpu, Path(tmp) / "ckpt.pt")
            t = time.perf_counter()
            trainer._epoch(0, bar)
            seconds = time.perf_counter() - t
            sha = digest(trainer.net.state_dict().values())
        else:
            raise SystemExit(f"unknown workload {workload}")
    return {"seconds": seconds, "sha": sha, "threads": torch.get_num_threads(),
            "mkldnn": torch.backends.mkldnn.enabled, "cpu_capability": torch.backends.cpu.get_cpu_capability()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workloads", default="gan,nst,texnet")
    ap.add_argument("--configs", default="current,t1,compat,avx2_compat")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--gan-steps", type=int, default=200)
    ap.add_argument("--nst-steps", type=int, default=10)
    ap.add_argument("--texnet-steps", type=int, default=12)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/bench_determinism.jsonl",
                    help="where the rows are appended, one per run")
    ap.add_argument("--child", nargs=4, metavar=("WORKLOAD", "STEPS", "THREADS", "MKLDNN"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        workload, steps, threads, mkldnn = a.child
        print("RESULT " + json.dumps(child(workload, int(steps), int(threads) or None, mkldnn == "1")))
        return
    from apeart.params import load_params  # loads torch: after the --child branch, which sets its env first

    params = load_params(ROOT / "params.yaml")
    sections = {"gan": dataclasses.asdict(params.gan), "nst": {**dataclasses.asdict(params.nst), "style_batch": params.sample.batch_size},
                "texnet": dataclasses.asdict(params.texnet)}
    steps = {"gan": a.gan_steps, "nst": a.nst_steps, "texnet": a.texnet_steps}
    configs, workloads = a.configs.split(","), a.workloads.split(",")
    base_env = {k: v for k, v in os.environ.items() if k not in LEVER_ENV}
    rows = []
    for rep in range(a.reps):
        for workload in workloads:
            for name in configs:
                config = CONFIGS[name]
                cmd = [sys.executable, __file__, "--child", workload, str(steps[workload]),
                       str(config.get("threads", 0)), "1" if config.get("mkldnn", True) else "0"]
                load = os.getloadavg()[0]
                proc = subprocess.run(cmd, env={**base_env, **config["env"]}, capture_output=True, text=True)
                if proc.returncode:
                    raise SystemExit(f"{workload}/{name} failed:\n{proc.stdout}\n{proc.stderr}")
                result = json.loads(proc.stdout.split("RESULT ", 1)[1])
                rows.append(record(a.out, {workload: sections[workload], "workload": workload,
                                           "steps": steps[workload], "config": name, **config},
                                   {"rep": rep, "child": result}))
                print(f"rep {rep} {workload:6s} {name:24s} {result['seconds']:7.2f}s threads {result['threads']} "
                      f"{result['cpu_capability']:7s} sha {result['sha']} load {load:.2f}", flush=True)
    print(f"\n{provenance()}")
    print(f"{'workload':8s} {'config':24s} {'median s':>9s} {'ratio':>6s}  bytes vs current")
    for workload in workloads:
        mine = [r for r in rows if r["config"]["workload"] == workload]
        med = {n: statistics.median(r["child"]["seconds"] for r in mine if r["config"]["config"] == n) for n in configs}
        shas = {n: {r["child"]["sha"] for r in mine if r["config"]["config"] == n} for n in configs}
        ref = configs[0]
        for n in configs:
            same = "run-to-run varies!" if len(shas[n]) > 1 else ("same" if shas[n] == shas[ref] else "differ")
            print(f"{workload:8s} {n:24s} {med[n]:9.2f} {med[n] / med[ref]:6.2f}  {same} ({', '.join(shas[n])})")
    print(f"rows: {a.out}")


if __name__ == "__main__":
    main()
