"""NST loop benchmark: prints figures, asserts nothing about time.

    python benchmarks/bench_nst.py                  # 128 px, batch 4, 5 steps, 3 repeats, CPU
    python benchmarks/bench_nst.py --size 356 --device cuda

All in one process, same inputs, the methods interleaved within each repeat, medians reported:

  (a) ours (batched, channels_last on CPU, torch.optim.LBFGS) vs a naive tutorial-style loop: one image at
      a time, NCHW, content and style targets recomputed inside every step ("losses rebuilt each step"),
      torch.optim.LBFGS, a host read of the loss each step; same backbone, size, optimiser and steps.
      Also shown: the same per-image loop with targets computed once, and ours in NCHW, to split the gain.
  (b) ours vs pastiche (its PasticheArtist API, L-BFGS, same size and steps, one image at a time).
  (c) ours vs the FLOP floor: forward + input-gradient FLOPs of the truncated VGG at this size divided
      by a 2048^3 float32 matmul rate measured in this process.
  (d) batch scaling: one batch of 8 vs 8 runs of batch 1 (ours).
  (e) peak RSS at 356 px, batch 8 (a fresh subprocess, a few steps) and RSS after each step.

Per image-step = loop seconds / (images x steps), network construction and (except for the naive loop)
target computation excluded. apeart bounds OpenMP's spin-wait (GOMP_SPINCOUNT=3000) unless
OMP_WAIT_POLICY or GOMP_SPINCOUNT is set (see apeart/__init__.py and benchmarks/bench_wait_policy.py).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import apeart  # noqa: F401, I001  (first: sets the OpenMP spin count before torch loads)
import torch
from torch import nn

from apeart.collection.demo import generate
from apeart.nst.params import NstParams
from apeart.params import load_params
from apeart.core.grids import to_pil
from apeart.nst.inputs import load_rgb
from apeart.nst.losses import Convention, content_loss, gram
from apeart.nst.objective import layer_weights
from apeart.nst.transfer import transfer
from apeart.vgg.backbones import VGGFeatures
from harness import RESULTS, conv_flops, interleaved, medians, record, sgemm_rate, sync

CONVENTION = Convention("gatys")  # the naive baselines' loss scale (speed is what is compared)
ROOT = Path(__file__).resolve().parents[1]
PAINTING = ROOT / "data/styles/paintings/starry_night.jpg"  # shipped
DEFAULTS = load_params(ROOT / "params.yaml").nst


def inputs(size: int, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Content batch (demo apes, generated) and one style image (The Starry Night), both RGB [0, 1]."""
    with tempfile.TemporaryDirectory() as tmp:
        generate(range(batch), 0, Path(tmp))
        content = torch.stack([load_rgb(p) for p in sorted(Path(tmp).glob("*.png"))])
    content = nn.functional.interpolate(content, size=(size, size), mode="bilinear", antialias=True).clamp(0, 1)
    style = load_rgb(PAINTING)
    style = nn.functional.interpolate(style[None], scale_factor=size / min(style.shape[1:]), mode="bilinear",
                                      antialias=True)[0].clamp(0, 1)
    return content, style


# --- the methods ---------------------------------------------------------------------------------------


def ours(content, style, params, device) -> float:
    """Loop seconds (the transfer's own measurement, snapshots excluded)."""
    result = transfer(content, [style], params, device)
    return result.seconds_per_step * params.steps


def naive(content, style, params, device, net: VGGFeatures, rebuild: bool = True) -> float:
    """Tutorial-style: per image, NCHW, torch LBFGS, targets rebuilt in every step when `rebuild`."""
    style = style.to(device)
    return sum(_naive_one(image[None].to(device), style, params, device, net, rebuild) for image in content)


def _naive_one(image, style, params, device, net: VGGFeatures, rebuild: bool) -> float:
    weights = layer_weights(params)

    def targets():
        with torch.no_grad():
            c = net(net.to_input(image))
            s = net(net.to_input(style[None]))
        return ({n: c[n] for n in params.content_layers}, {n: gram(s[n], CONVENTION) for n in params.style_layers})

    fixed = None if rebuild else targets()
    x = net.to_input(image).detach().clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=params.lr, max_iter=1, history_size=50, tolerance_grad=0.0, tolerance_change=0.0)
    scale = []

    def closure():
        opt.zero_grad()
        c_t, s_t = fixed or targets()
        feats = net(x)
        c_loss = sum(content_loss(feats[n], c_t[n], CONVENTION) for n in params.content_layers)
        s_loss = sum(w * (gram(feats[n], CONVENTION) - s_t[n]).pow(2).sum() for w, n in zip(weights, params.style_layers))
        loss = (params.alpha * c_loss + params.beta * s_loss).sum()
        if not scale:
            scale.append(loss.item() / x.numel())
        loss = loss / scale[0]
        loss.backward()
        return loss

    sync(device)
    start = time.perf_counter()
    for _ in range(params.steps):
        loss = opt.step(closure)
        float(loss.detach())  # the tutorial prints the loss
    sync(device)
    return time.perf_counter() - start


class Pastiche:
    """pastiche's PasticheArtist on files: per image, its targets made in the constructor (not timed)."""

    def __init__(self, content: torch.Tensor, style: torch.Tensor, folder: Path) -> None:
        self.paths = []
        for i, image in enumerate(content):
            path = folder / f"content_{i}.png"
            to_pil(image).save(path)
            self.paths.append(str(path))
        self.style = str(folder / "style.png")
        to_pil(style).save(self.style)

    def __call__(self, params: NstParams, device: torch.device) -> float:
        from pastiche.pastiche import PasticheArtist

        total = 0.0
        for path in self.paths:
            artist = PasticheArtist(path, [self.style], optimizer="lbfgs", device=str(device), size=params.size,
                                    pooling=params.pooling)
            sync(device)
            start = time.perf_counter()
            for _ in range(params.steps):
                artist.draw()
            sync(device)
            total += time.perf_counter() - start
        return total


# --- memory (subprocess) -------------------------------------------------------------------------------


def rss_child(size: int, batch: int, steps: int, device: str, optimizer: str) -> None:
    """Run in a fresh process: RSS after each step and the peak, as JSON on stdout."""
    import psutil

    from apeart.core.runtime import peak_rss_mb

    proc = psutil.Process()
    content, style = inputs(size, batch)
    base = proc.memory_info().rss / 2**20
    per_step = []
    params = dataclasses.replace(DEFAULTS, size=size, steps=steps, snapshots=steps + 1, optimizer=optimizer)
    transfer(content, [style], params, torch.device(device),
             lambda step, _: per_step.append(round(proc.memory_info().rss / 2**20, 1)))
    print(json.dumps({"rss_before_mb": round(base, 1), "rss_per_step_mb": per_step,
                      "peak_rss_mb": round(peak_rss_mb(), 1)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--skip", default="", help="comma list of parts to skip: a,b,c,d,e")
    parser.add_argument("--out", type=Path, default=RESULTS / "bench_nst.jsonl", help="where the row is appended")
    parser.add_argument("--rss-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rss-size", type=int, default=356)
    parser.add_argument("--rss-steps", type=int, default=3)
    parser.add_argument("--rss-optimizer", default="lbfgs", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args.size, args.batch, args.steps, args.device, args.rss_optimizer)
        return
    skip = set(args.skip.split(","))
    device = torch.device(args.device)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, OMP_WAIT_POLICY="
          f"{os.environ.get('OMP_WAIT_POLICY')}, device {device}, size {args.size}, batch {args.batch}, "
          f"steps {args.steps}, repeats {args.repeats}")
    content, style = inputs(args.size, args.batch)
    params = dataclasses.replace(DEFAULTS, size=args.size, steps=args.steps, snapshots=1)
    nchw = dataclasses.replace(params, memory_format="contiguous")
    net = VGGFeatures(params.backbone, params.content_layers + params.style_layers, params.pooling).to(device)
    floor_flops = 2 * sum(conv_flops(net, torch.zeros(1, 3, args.size, args.size, device=device)))  # fwd + input grad
    tmp = tempfile.TemporaryDirectory()
    pastiche = Pastiche(content, style, Path(tmp.name))

    images = args.batch
    methods = {"ours": lambda: ours(content, style, params, device) / (images * args.steps)}
    if "a" not in skip:
        methods["ours NCHW"] = lambda: ours(content, style, nchw, device) / (images * args.steps)
        methods["naive (targets each step)"] = lambda: naive(content, style, params, device, net) / (images * args.steps)
        methods["per-image loop (targets once)"] = lambda: naive(content, style, params, device, net, False) / (
            images * args.steps)
    if "b" not in skip:
        methods["pastiche"] = lambda: pastiche(params, device) / (images * args.steps)
    if "c" not in skip:
        methods["floor"] = lambda: floor_flops / sgemm_rate(device=device)
    if "d" not in skip:
        b8, b1 = content[:1].expand(8, -1, -1, -1).contiguous(), content[:1]
        methods["ours B=8 batch"] = lambda: ours(b8, style, params, device)
        methods["ours 8 x B=1"] = lambda: sum(ours(b1, style, params, device) for _ in range(8))

    times = interleaved(methods, args.repeats)  # after a warm-up round (oneDNN primitives, caches)
    med = medians(times)
    config: dict = {"nst": dataclasses.asdict(params), "size": args.size, "batch": args.batch, "steps": args.steps,
                    "repeats": args.repeats, "device": args.device, "parts": sorted(set("abcde") - skip)}

    print(f"\nper image-step seconds (median of {args.repeats}; all repeats):")
    for name in methods:
        if name.startswith(("ours B=8", "ours 8 x")):
            continue
        print(f"  {name:32s} {med[name]:8.4f}   {' '.join(f'{t:.4f}' for t in times[name])}")
    o = med["ours"]
    if "a" not in skip:
        print(f"(a) naive / ours                   {med['naive (targets each step)'] / o:6.2f}x   (target >= 1.5)")
        print(f"    per-image loop (targets once) / ours {med['per-image loop (targets once)'] / o:6.2f}x")
        print(f"    ours NCHW / ours channels_last {med['ours NCHW'] / o:6.2f}x")
    if "b" not in skip:
        print(f"(b) pastiche / ours                {med['pastiche'] / o:6.2f}x   (target >= 1.2)")
    if "c" not in skip:
        rate = floor_flops / med["floor"]
        print(f"(c) ours / FLOP floor              {o / med['floor']:6.2f}x   (target <= 1.25); floor "
              f"{floor_flops / 1e9:.2f} GFLOP per image-step at {rate / 1e9:.1f} GFLOP/s (best 2048^3 sgemm), "
              f"ours runs at {floor_flops / o / 1e9:.1f} GFLOP/s")
    if "d" not in skip:
        print(f"(d) B=8 batch / 8 x B=1            {med['ours B=8 batch'] / med['ours 8 x B=1']:6.2f}x   "
              f"(target <= 1.0; {med['ours B=8 batch']:.2f}s vs {med['ours 8 x B=1']:.2f}s for {args.steps} steps)")
    peaks: dict[str, dict] = {}
    if "e" not in skip:
        n = 8 * 3 * args.rss_size**2
        for optimizer in ("lbfgs", "adam"):
            cmd = [sys.executable, __file__, "--rss-child", "--size", str(args.rss_size), "--batch", "8",
                   "--steps", str(args.rss_steps), "--device", args.device, "--rss-optimizer", optimizer]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
            rss = peaks[optimizer] = json.loads(out)
            note = (f"; L-BFGS fills one (s, y) history pair per step: {2 * n * 4 / 2**20:.0f} MiB, up to 50 pairs"
                    if optimizer == "lbfgs" else "")
            print(f"(e) {optimizer}, {args.rss_size} px, batch 8, {args.rss_steps} steps: peak RSS "
                  f"{rss['peak_rss_mb']:.0f} MiB; RSS before {rss['rss_before_mb']:.0f} MiB, after steps "
                  f"0..{args.rss_steps}: {rss['rss_per_step_mb']}{note}")

    config["rss"] = None if "e" in skip else {"size": args.rss_size, "batch": 8, "steps": args.rss_steps}
    record(args.out, config, {"s_per_image_step": times, "median_s_per_image_step": med, "rss_mb": peaks})


if __name__ == "__main__":
    main()
