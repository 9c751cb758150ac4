"""GAN training step against the hardware: ours vs a pytorch/examples-style loop vs the FLOP floor.

    python benchmarks/bench_gan.py                  # default (batch 16, ngf 32, ndf 16) and paper (64, 64, 64)
    python benchmarks/bench_gan.py --configs default,params.yaml --layers   # + the run's own config, each conv alone
    python benchmarks/bench_gan.py --configs default --steps 8 --repeats 12 --levers all --compile \
        --out benchmarks/results/bench_gan.jsonl   # short epochs, many rounds: the finest interleaving

All in one process, same images, the methods interleaved within each repeat; each step is timed and the
10th percentile of a method's steps is its ms/step (a shared CPU only ever slows a step down: the fast
steps are what the hardware gives, as the best sgemm is), the median next to it. Only ratios measured in
one run mean anything:

  ours      our Trainer's epoch loop at the config (DiffAugment and EMA as in params.yaml, so their cost
            counts in our step); the one-time PNG decode, the checkpoint and the grids are not timed.
  ours plain  the same without DiffAugment and EMA: the examples' arithmetic.
  examples  the pytorch/examples dcgan loop: torchvision ImageFolder + PIL decode through a DataLoader
            every epoch, NCHW fp32, D's weight gradients computed in G's step too, a `.item()` per step.
  floor     the conv FLOPs of one training step divided by a 2048^3 float32 matmul rate measured in this
            process (best of 5, one per repeat): G forward + backward, and D forward + backward on real,
            on fake and on fake for G's step ("backward" = 2 x forward: input and weight gradients), at the
            configured widths and batch. DiffAugment, EMA, BatchNorm, activations and optimiser steps are not in it.
            `strict` is the same count without what no correct step needs (D's weight gradients in G's
            step, the input gradients of the first layers of G and D): listed, not the yardstick.

--levers times variants of ours in the same interleaving: NCHW (ours is channels_last), fused Adam, the EMA through
the private torch._foreach_lerp_ (what ours did before it used swa_utils.AveragedModel), preallocated
label tensors, bf16 autocast (`gan.precision: bf16`); --compile adds torch.compile'd G and D and reports their
compile time (first epoch minus a steady one) against the time saved over a default run's steps (gan.epochs x batches in params.yaml). Each lever also reports whether its
weights after one epoch equal ours bit for bit (fresh trainers, same seed); for torch.compile, whether one
forward of G and D equals the eager one.

Each result row records its provenance (harness.record), the CPU among it: the CPU moves the floor by up to 4x.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import apeart  # noqa: F401, I001  (first: sets the OpenMP spin count before torch loads)
import torch
import torch.nn.functional as F
from torch import nn
from torchvision import datasets, transforms

from apeart.collection.demo import generate
from apeart.gan.params import GanParams
from apeart.params import load_params
from apeart.core.datasets import load_pngs
from apeart.core.distributed import even_batches
from apeart.core.runtime import fast_layout
from apeart.gan.models import Discriminator, Generator, init_weights
from apeart.gan.train import Trainer, ema_beta
from apeart.prepare import prepare_images
from harness import conv_flops, cpu_model, interleaved, record, sgemm_rate

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {
    "default": {"batch_size": 16, "ngf": 32, "ndf": 16},  # issue 16's fixed config
    "paper": {"batch_size": 64, "ngf": 64, "ndf": 64},  # Radford et al.
    "params.yaml": {},  # the default run's own
}


def default_run_steps() -> int:
    """Training steps of a default run: gan.epochs x the batches of data.limit images."""
    p = load_params(ROOT / "params.yaml")
    return p.gan.epochs * len(even_batches(torch.arange(p.data.limit), p.gan.batch_size, p.gan.processes))


# --- FLOP floor ----------------------------------------------------------------------------------------


def step_flops(params: GanParams) -> tuple[float, float]:
    """(floor, strict) FLOPs of one training step at `params` (see the module docstring)."""
    g = conv_flops(Generator(params.nz, params.ngf), torch.zeros(1, params.nz, 1, 1))
    d = conv_flops(Discriminator(params.ndf), torch.zeros(1, 3, 64, 64))
    fg, fd = sum(g), sum(d)
    floor = 3 * fg + 3 * (3 * fd)  # G fwd+bwd; D fwd+bwd on real, fake, and fake for G's step
    # strict: z and the images need no gradient; G's step needs D's input gradients, not its weights'.
    strict = (fg + fg + (fg - g[0])) + 2 * (fd + fd + (fd - d[0])) + (fd + fd)
    return floor * params.batch_size, strict * params.batch_size


def layer_times(params: GanParams, repeats: int) -> tuple[list[dict], float]:
    """Each conv of G and D alone, forward + backward (input and weight gradients) at the config's batch and
    our layout: rows of ms and GFLOP/s, and the conv time of one step (G once, D three times, as in the floor)."""
    rows, step_s = [], 0.0
    fmt = fast_layout(torch.device("cpu"))
    for name, net, x, passes in (("G", Generator(params.nz, params.ngf), torch.randn(params.batch_size, params.nz, 1, 1), 1),
                                 ("D", Discriminator(params.ndf), torch.randn(params.batch_size, 3, 64, 64), 3)):
        convs = [m for m in net.main if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
        for m, flops in zip(convs, conv_flops(net, x[:1])):
            m.to(memory_format=fmt)
            x_in = x.contiguous(memory_format=fmt).requires_grad_(True)
            times = []
            for _ in range(repeats + 2):  # two warm-ups
                start = time.perf_counter()
                m(x_in).sum().backward()
                times.append(time.perf_counter() - start)
            t = fast(times[2:])
            gflops = 3 * flops * params.batch_size / 1e9  # forward + backward (2x forward)
            rows.append({"net": name, "layer": f"{type(m).__name__} {tuple(x.shape[1:])}", "ms": round(t * 1e3, 2),
                         "gflop_s": round(gflops / t, 1)})
            step_s += passes * t
            with torch.no_grad():  # the next conv's input has this one's output shape (BatchNorm, activations keep it)
                x = torch.randn_like(m(x_in))
    return rows, step_s


# --- the examples loop ---------------------------------------------------------------------------------


class Examples:
    """pytorch/examples dcgan's loop (models and optimisers built once, untimed); `epoch` returns steps."""

    def __init__(self, folder: Path, params: GanParams) -> None:
        torch.manual_seed(0)
        data = datasets.ImageFolder(str(folder), transform=transforms.Compose(
            [transforms.ToTensor(), transforms.Normalize((0.5,) * 3, (0.5,) * 3)]))
        self.loader = torch.utils.data.DataLoader(data, batch_size=params.batch_size, shuffle=True, num_workers=0)
        self.nz = params.nz
        self.G, self.D = Generator(params.nz, params.ngf), Discriminator(params.ndf, params.leaky_slope)
        self.G.apply(init_weights)
        self.D.apply(init_weights)
        betas = (params.beta1, params.beta2)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=params.lr, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=params.lr, betas=betas)

    def epoch(self, clock: Clock) -> None:
        for real, _ in self.loader:
            z = torch.randn(len(real), self.nz, 1, 1)
            fake = self.G(z)
            self.opt_d.zero_grad()
            out_real, out_fake = self.D(real), self.D(fake.detach())
            d_loss = F.binary_cross_entropy_with_logits(out_real, torch.ones_like(out_real)) + \
                F.binary_cross_entropy_with_logits(out_fake, torch.zeros_like(out_fake))
            d_loss.backward()
            self.opt_d.step()
            self.opt_g.zero_grad()
            out = self.D(fake)
            F.binary_cross_entropy_with_logits(out, torch.ones_like(out)).backward()
            self.opt_g.step()
            d_loss.item()  # the per-step host sync the examples do when logging
            clock.update()


# --- levers (variants of our Trainer) ------------------------------------------------------------------


def lever_nchw(t: Trainer) -> None:
    """G and D in the NCHW layout (ours runs channels_last on the CPU)."""
    for net in (t.G, t.D, t.G_ema):
        if net is not None:
            net.to(memory_format=torch.contiguous_format)


def lever_fused_adam(t: Trainer) -> None:
    for name, net in (("opt_g", t.G), ("opt_d", t.D)):
        old = getattr(t, name)
        setattr(t, name, torch.optim.Adam(net.parameters(), lr=old.defaults["lr"], betas=old.defaults["betas"],
                                          fused=True))


def lever_private_lerp_ema(t: Trainer) -> None:
    """The EMA as before issue 16: torch._foreach_lerp_ on the parameter lists, buffers copied one by one
    (ours now goes through torch.optim.swa_utils.AveragedModel with the same ramp, bit-identical)."""
    if t.G_ema is None:
        return

    @torch.no_grad()
    def update(step: int) -> None:
        weight = 1.0 - ema_beta(t.params.ema_decay, step)
        torch._foreach_lerp_(list(t.G_ema.parameters()), list(t.G.parameters()), weight)
        for b_ema, b in zip(t.G_ema.buffers(), t.G.buffers()):
            b_ema.copy_(b)

    t._update_ema = update  # type: ignore[method-assign]


def lever_labels(t: Trainer) -> None:
    """Reuse label tensors across steps (the per-step full_like / zeros_like / ones_like allocations)."""
    cache: dict[tuple, torch.Tensor] = {}
    orig = F.binary_cross_entropy_with_logits

    def bce(x, target, *a, **k):  # only used inside the timed epoch of this variant
        key = (x.shape, float(target.flatten()[0]) if target.numel() else 0.0)
        if key not in cache:
            cache[key] = target.clone()
        return orig(x, cache[key], *a, **k)

    t._orig_epoch = t._epoch

    def epoch(e, bar):
        F.binary_cross_entropy_with_logits = bce
        try:
            t._orig_epoch(e, bar)
        finally:
            F.binary_cross_entropy_with_logits = orig

    t._epoch = epoch  # type: ignore[method-assign]


def lever_bf16(t: Trainer) -> None:
    """`gan.precision: bf16` (autocast on the forward passes; AMX/AVX512-BF16 where the CPU has them)."""
    t.params = dataclasses.replace(t.params, precision="bf16")


def lever_compile(t: Trainer) -> None:
    t.G = torch.compile(t.G)  # type: ignore[assignment]
    t.D = torch.compile(t.D)  # type: ignore[assignment]


LEVERS: dict[str, Callable[[Trainer], None]] = {
    "NCHW": lever_nchw,
    "fused Adam": lever_fused_adam,
    "EMA private lerp": lever_private_lerp_ema,
    "labels preallocated": lever_labels,
    "bf16 autocast": lever_bf16,
}


def make_trainer(params: GanParams, data: torch.Tensor, work: Path, tweak=None) -> Trainer:
    t = Trainer(params, data, torch.device("cpu"), work / f"ck-{time.monotonic_ns()}.pt")
    if tweak is not None:
        tweak(t)
    return t


def weights(t: Trainer) -> dict[str, torch.Tensor]:
    nets = {"G": t.G, "D": t.D, "G_ema": t.G_ema}
    out = {}
    for n, net in nets.items():
        if net is not None:
            net = getattr(net, "_orig_mod", net)
            out.update({f"{n}.{k}": v.detach().clone() for k, v in net.state_dict().items()})
    return out


def bit_identical(params: GanParams, data: torch.Tensor, work: Path, tweak) -> bool:
    bar = Clock()
    a, b = make_trainer(params, data, work), make_trainer(params, data, work, tweak)
    a._epoch(0, bar)
    b._epoch(0, bar)
    wa, wb = weights(a), weights(b)
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k].contiguous()) for k in wa)


# --- the run -------------------------------------------------------------------------------------------


class Clock:
    """Stands in for the progress bar: `update()` (once per step) records the time; `steps()` the per-step
    seconds since `start()`."""

    def __init__(self) -> None:
        self.marks: list[float] = []

    def start(self) -> None:
        self.marks = [time.perf_counter()]

    def update(self, n: int = 1) -> None:
        self.marks.append(time.perf_counter())

    def set_description(self, *_: object) -> None:
        pass

    def steps(self) -> list[float]:
        return [b - a for a, b in zip(self.marks, self.marks[1:])]


def timed(fn: Callable[[Clock], object], clock: Clock) -> list[float]:
    """Per-step seconds of one call of `fn(clock)`."""
    clock.start()
    fn(clock)
    return clock.steps()


def fast(steps: list[float]) -> float:
    """The 10th percentile of per-step times: a shared CPU only ever slows a step down, so the fast steps
    are what the hardware gives (as the best sgemm is); the median is reported next to it."""
    return statistics.quantiles(steps, n=10, method="inclusive")[0] if len(steps) > 1 else steps[0]


def bench_config(name: str, args: argparse.Namespace, work: Path, compile_: bool) -> list[dict]:
    params = dataclasses.replace(load_params(ROOT / "params.yaml").gan, epochs=1, device="cpu",
                                 **CONFIGS[name])
    steps = args.steps or (64 if name == "default" else 8)
    n = steps * params.batch_size
    folder = work / name
    generate(range(n), 0, folder / "raw")
    prepare_images(sorted((folder / "raw").glob("*.png")), {folder / "gan" / "all": 64})
    data = load_pngs(folder / "gan" / "all")[1]
    floor_flops, strict_flops = step_flops(params)
    clock = Clock()

    def epoch_of(trainer: Trainer) -> Callable[[], list[float]]:
        return lambda: timed(lambda c: trainer._epoch(0, c), clock)

    def floor() -> list[float]:
        return [floor_flops / sgemm_rate()]

    ours = make_trainer(params, data, work)
    plain = make_trainer(dataclasses.replace(params, diffaugment="", ema_decay=0.0), data, work)
    examples = Examples(folder / "gan", params)
    methods: dict[str, Callable[[], list[float]]] = {
        "ours": epoch_of(ours),
        "ours plain": epoch_of(plain),
        "examples": lambda: timed(examples.epoch, clock),
        "floor": floor,
    }
    identical: dict[str, bool] = {}
    compile_s = None
    chosen = list(LEVERS) if args.levers == "all" else [x.strip() for x in args.levers.split(",") if x.strip()]
    for lever in chosen:
        trainer = make_trainer(params, data, work, LEVERS[lever])
        methods[lever] = epoch_of(trainer)
        identical[lever] = bit_identical(params, data, work, LEVERS[lever])
    if compile_:
        torch._dynamo.reset()
        trainer = make_trainer(params, data, work, lever_compile)
        run = epoch_of(trainer)
        first, steady = sum(run()), sum(run())
        compile_s = first - steady
        methods["torch.compile"] = run
        with torch.no_grad():  # one forward of the compiled G and D vs their eager modules, same weights
            z = torch.randn(params.batch_size, params.nz, 1, 1)
            x = trainer.G._orig_mod(z)
            identical["torch.compile"] = torch.equal(trainer.G(z), x) and torch.equal(trainer.D(x),
                                                                                          trainer.D._orig_mod(x))

    rounds = interleaved(methods, args.repeats)  # after a warm-up round: oneDNN primitives, allocator, page cache
    times = {m: [step for steps in r for step in steps] for m, r in rounds.items()}
    med = {m: fast(v) for m, v in times.items()}
    median = {m: statistics.median(v) for m, v in times.items()}
    rate = floor_flops / med["floor"]
    print(f"\n[{name}] batch {params.batch_size}, ngf {params.ngf}, ndf {params.ndf}, {steps} steps per epoch, "
          f"diffaugment {params.diffaugment!r}, ema_decay {params.ema_decay}; floor {floor_flops / 1e9:.2f} GFLOP "
          f"per step (strict {strict_flops / 1e9:.2f}) at {rate / 1e9:.1f} GFLOP/s (best 2048^3 sgemm)")
    print(f"  {'method':22s} {'ms/step':>8s} {'/floor':>7s} {'/ours':>6s}   median: ms/step /floor /ours")
    rows = []
    for m in methods:
        extra = ""
        if m in identical:
            extra = "  bit-identical" if identical[m] else "  numerics differ"
        print(f"  {m:22s} {med[m] * 1e3:8.1f} {med[m] / med['floor']:7.2f} {med[m] / med['ours']:6.2f}   "
              f"{median[m] * 1e3:8.1f} {median[m] / median['floor']:6.2f} {median[m] / median['ours']:5.2f}{extra}")
        rows.append({"method": m, "ms_per_step": round(med[m] * 1e3, 2),
                     "over_floor": round(med[m] / med["floor"], 3), "over_ours": round(med[m] / med["ours"], 3),
                     "median_ms_per_step": round(median[m] * 1e3, 2), "n_steps_timed": len(times[m]),
                     "bit_identical": identical.get(m), "floor_gflop": round(floor_flops / 1e9, 3), "strict_gflop": round(strict_flops / 1e9, 3),
                     "sgemm_gflops": round(rate / 1e9, 1)})
    print(f"  strict floor: {strict_flops / rate * 1e3:.1f} ms/step; ours / strict {med['ours'] * rate / strict_flops:.2f}x")
    if args.layers:
        layers, conv_s = layer_times(params, 5 * args.repeats)
        for r in layers:
            print(f"  {r['net']} {r['layer']:34s} {r['ms']:7.2f} ms {r['gflop_s']:7.1f} GFLOP/s")
        print(f"  convolutions of one step (G once, D three times): {conv_s * 1e3:.1f} ms = "
              f"{conv_s / med['floor']:.2f}x the floor, {conv_s / med['ours']:.2f} of ours")
        rows.append({"method": "conv layers", "layers": layers, "conv_ms_per_step": round(conv_s * 1e3, 1),
                     "over_floor": round(conv_s / med["floor"], 2), "over_ours": round(conv_s / med["ours"], 2)})
    if compile_s is not None:
        run_steps = default_run_steps()  # at this config's step time: exact for --configs params.yaml
        saved = (med["ours"] - med["torch.compile"]) * run_steps
        print(f"  torch.compile: {compile_s:.1f} s to compile (first epoch minus a steady one); saves "
              f"{saved:.1f} s over a default run of {run_steps} steps -> net {saved - compile_s:+.1f} s")
        rows.append({"method": "torch.compile time", "compile_s": round(compile_s, 1),
                     "saved_s_default_run": round(saved, 1)})
    config = {"gan": dataclasses.asdict(params), "config": name, "steps": steps, "repeats": args.repeats, "levers": chosen,
              "compile": compile_, "layers": args.layers}
    return [(config, row) for row in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", default="default,paper", help="comma list of: " + ", ".join(CONFIGS))
    parser.add_argument("--steps", type=int, default=0, help="steps per timed epoch (0: 64 default, 8 paper)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--levers", default="", help="comma list of levers to time (all: every one): "
                        + ", ".join(LEVERS))
    parser.add_argument("--compile", action="store_true", help="time torch.compile too")
    parser.add_argument("--layers", action="store_true", help="time each convolution alone too")
    parser.add_argument("--out", type=Path, help="append the rows as JSON lines (harness.record)")
    args = parser.parse_args()
    torch.manual_seed(0)
    print(f"{cpu_model()}; torch {torch.__version__}, {torch.get_num_threads()} threads, OMP_WAIT_POLICY="
          f"{os.environ.get('OMP_WAIT_POLICY')}, GOMP_SPINCOUNT={os.environ.get('GOMP_SPINCOUNT')}, "
          f"repeats {args.repeats}; {' '.join(sys.argv[1:])}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.configs.split(","):
            rows += bench_config(name, args, Path(tmp), args.compile)
    if args.out:
        for config, row in rows:
            record(args.out, config, row)


if __name__ == "__main__":
    main()
