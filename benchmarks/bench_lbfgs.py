"""L-BFGS benchmark: our synchronisation-free L-BFGS vs torch.optim.LBFGS in the real stylize loop.

    python benchmarks/bench_lbfgs.py                 # 128 px, batch 4, 30 steps, 4 repeats, CPU
    python benchmarks/bench_lbfgs.py --device cuda

One process, the stylize stage's own code path (`transfer`, params.yaml's nst section via `load_params`,
only size, steps and snapshots overridden) with the optimiser swapped in `apeart.nst.optimise`:

  ours   the sync-free L-BFGS that was `src/apeart/nst/lbfgs.py` (copied below so the comparison can be
         rerun, e.g. on a GPU, where avoiding host reads is what it was for);
  torch  torch.optim.LBFGS(lr=nst.lr, max_iter=1, history_size=50, line_search_fn=None, tolerance_grad=0,
         tolerance_change=0): one closure evaluation per step, the same iteration.

Inputs: the stage's (data/prepared/content, the configured style source) when present, else 4 generated
demo apes and the shipped Starry Night (a fresh clone). One warm-up run each, then `repeats` rounds, the
order alternating (ours first, then torch first, ...); reported: the loop's seconds per step (the
transfer's own measurement), medians, torch / ours, and how far the two results differ (final losses of
the saved 8-bit images, max pixel difference). Asserts nothing about time; appends one JSON line to
benchmarks/results/bench_lbfgs.jsonl.
"""
from __future__ import annotations

import apeart  # noqa: F401  (first: sets the OpenMP spin count before torch loads)

# isort: split
import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

import apeart.nst.optimise as optimise_module
from apeart.nst.params import NstParams
from apeart.params import load_params
from apeart.core.runtime import deterministic
from apeart.nst.inputs import load_inputs
from apeart.nst.transfer import TransferResult, transfer

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks/results/bench_lbfgs.jsonl"


class SyncFreeLBFGS:
    """The removed `apeart.nst.lbfgs.LBFGS`: torch's max_iter=1 iteration with every data-dependent branch a
    tensor operation (no host read per step); a pair with y.s <= 1e-10 is kept with rho = 0, not skipped."""

    def __init__(self, param: torch.Tensor, lr: float = 1.0, history_size: int = 50) -> None:
        if not param.is_contiguous():
            raise ValueError("LBFGS needs a contiguous parameter")
        self.param, self.lr, self.m = param, lr, history_size
        self.iteration = 0
        self.s: torch.Tensor | None = None
        self.y: torch.Tensor | None = None
        self.rho = param.new_zeros(history_size)
        self.h_diag = param.new_ones(())
        self.prev_grad: torch.Tensor | None = None
        self.d: torch.Tensor | None = None
        self.t = param.new_zeros(())

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.param.grad = None

    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:
        with torch.enable_grad():
            loss = closure()
        with torch.no_grad():
            grad = self.param.grad
            g = self.param.new_zeros(self.param.numel()) if grad is None else grad.reshape(-1)
            self.iteration += 1
            if self.iteration == 1:
                d = g.neg()
                t = torch.clamp(1.0 / g.abs().sum(), max=1.0) * self.lr
            else:
                slot = (self.iteration - 2) % self.m
                if self.s is None:
                    self.s = g.new_empty(self.m, g.numel())
                    self.y = g.new_empty(self.m, g.numel())
                y, s = self.y[slot], self.s[slot]
                torch.sub(g, self.prev_grad, out=y)
                torch.mul(self.d, self.t, out=s)
                ys = torch.dot(y, s)
                accept = ys > 1e-10
                self.rho[slot] = torch.where(accept, 1.0 / ys, torch.zeros_like(ys))
                self.h_diag = torch.where(accept, ys / torch.dot(y, y), self.h_diag)
                count = min(self.iteration - 1, self.m)
                order = [(slot - j) % self.m for j in range(count)]
                q = g.neg()
                alphas = {}
                for i in order:
                    alphas[i] = torch.dot(self.s[i], q) * self.rho[i]
                    q.sub_(self.y[i] * alphas[i])
                d = q.mul_(self.h_diag)
                for i in reversed(order):
                    beta = torch.dot(self.y[i], d) * self.rho[i]
                    d.add_(self.s[i] * (alphas[i] - beta))
                t = self.t.new_tensor(self.lr)
            if self.prev_grad is None:
                self.prev_grad = g.clone()
            else:
                self.prev_grad.copy_(g)
            t = torch.where(torch.dot(g, d) > 0, torch.zeros_like(t), t)
            self.param.view(-1).add_(d * t)
            self.d, self.t = d, t
        return loss


def torch_lbfgs(params: NstParams, x: torch.Tensor) -> torch.optim.LBFGS:
    return torch.optim.LBFGS([x], lr=params.lr, max_iter=1, history_size=50, line_search_fn=None,
                             tolerance_grad=0.0, tolerance_change=0.0)


OPTIMISERS = {
    "ours": lambda params, x: SyncFreeLBFGS(x, lr=params.lr, history_size=50),
    "torch": torch_lbfgs,
}


def inputs(params: NstParams, batch: int) -> tuple[str, torch.Tensor, list[torch.Tensor]]:
    """(source, content batch, style images): the stage's inputs if prepared, else bench_nst's."""
    try:
        _, content, styles = load_inputs(params, ROOT / "data")
        if len(content) >= batch and content.shape[-1] == params.size:
            return f"stage ({params.style_source})", content[:batch], styles
    except (FileNotFoundError, OSError):
        pass
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_nst import inputs as demo_inputs

    content, style = demo_inputs(params.size, batch)
    return "demo apes + starry_night", content, [style]


def run(name: str, content, styles, params: NstParams, device: torch.device) -> TransferResult:
    original = optimise_module._optimizer
    optimise_module._optimizer = OPTIMISERS[name]
    try:
        deterministic(params.seed)
        return transfer(content, styles, params, device)
    finally:
        optimise_module._optimizer = original


def git_rev() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--gram-norm", default=None, help="override nst.gram_norm (e.g. none: losses ~1e14)")
    parser.add_argument("--beta", type=float, default=None, help="override nst.beta")
    parser.add_argument("--no-record", action="store_true", help="do not append to the results file")
    args = parser.parse_args()
    device = torch.device(args.device)
    overrides = {"size": args.size, "steps": args.steps, "snapshots": 1, "optimizer": "lbfgs"}
    if args.gram_norm:
        overrides["gram_norm"] = args.gram_norm
    if args.beta is not None:
        overrides["beta"] = args.beta
    params = dataclasses.replace(load_params(ROOT / "params.yaml").nst, **overrides)
    source, content, styles = inputs(params, args.batch)
    load_before = os.getloadavg()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, OMP_WAIT_POLICY="
          f"{os.environ.get('OMP_WAIT_POLICY')}, GOMP_SPINCOUNT={os.environ.get('GOMP_SPINCOUNT')}, "
          f"device {device}, size {args.size}, batch {len(content)}, "
          f"steps {args.steps}, repeats {args.repeats}, gram_norm {params.gram_norm}, beta {params.beta}, "
          f"lr {params.lr}; inputs: {source}; load {load_before[0]:.2f}")

    results = {name: run(name, content, styles, params, device) for name in OPTIMISERS}  # warm-up
    times: dict[str, list[float]] = {name: [] for name in OPTIMISERS}
    start = time.perf_counter()
    for r in range(args.repeats):
        names = list(OPTIMISERS) if r % 2 == 0 else list(reversed(OPTIMISERS))
        for name in names:
            results[name] = run(name, content, styles, params, device)
            times[name].append(results[name].seconds_per_step)
    wall = time.perf_counter() - start
    load_after = os.getloadavg()
    med = {name: statistics.median(v) for name, v in times.items()}
    ratio = med["torch"] / med["ours"]
    ours, theirs = results["ours"], results["torch"]
    final = {name: sum(r.total) / len(r.total) for name, r in results.items()}
    loss_rel = max(abs(a - b) / abs(a) for a, b in zip(ours.total, theirs.total))
    image_diff = float((ours.images - theirs.images).abs().max())
    image_mean = float((ours.images - theirs.images).abs().mean())

    print(f"\nseconds per step (median of {args.repeats}; all repeats, in order):")
    for name in OPTIMISERS:
        print(f"  {name:6s} {med[name]:.4f}   {' '.join(f'{t:.4f}' for t in times[name])}")
    print(f"torch / ours  {ratio:.3f}x   (> 1: ours faster)")
    print(f"initial loss (batch mean, unscaled) {ours.history[0]['total']:.4g}; final: ours {final['ours']:.6g}, "
          f"torch {final['torch']:.6g}; max per-image relative difference {loss_rel:.2e}")
    print(f"images: max |ours - torch| {image_diff:.4f}, mean {image_mean:.2e} (RGB [0, 1]); "
          f"finite: {all(torch.isfinite(r.images).all() for r in results.values())}")
    print(f"load average {load_before[0]:.2f} -> {load_after[0]:.2f}; timed rounds {wall:.0f} s")
    if args.no_record:
        return
    record = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "git": git_rev(), "torch": torch.__version__,
        "threads": torch.get_num_threads(), "device": str(device), "size": args.size, "batch": len(content),
        "steps": args.steps, "repeats": args.repeats, "gram_norm": params.gram_norm, "beta": params.beta,
        "lr": params.lr, "inputs": source, "s_per_step": {n: [round(t, 4) for t in v] for n, v in times.items()},
        "median_s_per_step": {n: round(v, 4) for n, v in med.items()}, "torch_over_ours": round(ratio, 4),
        "initial_total": ours.history[0]["total"], "final_total": final,
        "final_loss_max_rel_diff": loss_rel, "image_max_abs_diff": image_diff, "image_mean_abs_diff": image_mean,
        "loadavg_before": round(load_before[0], 2), "loadavg_after": round(load_after[0], 2),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a") as f:
        f.write(json.dumps(record) + "\n")
    print(f"appended to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
