"""Texture network inference benchmark: prints figures, appends a JSON line, asserts nothing about time.

    python benchmarks/bench_texnet.py                       # CPU, 3 repeats, Gatys at 128 and 256 px
    python benchmarks/bench_texnet.py --repeats 5 --gatys-sizes 128
    python benchmarks/bench_texnet.py --gatys-sizes --compile  # no Gatys (needs the pipeline's data); + torch.compile
    python benchmarks/bench_texnet.py --levers-only            # the levers children alone (minutes less)

One run. Every measurement runs in a fresh child process (this script with a hidden flag), so its peak RSS
(ru_maxrss) is its own (Linux starts a child's ru_maxrss at its parent's RSS: the parent does no torch work, and
the child's VmHWM goes in the JSON as a check); within each repeat the children of the fast networks run in turn
(interleaved), medians over repeats reported. Seconds per image = timed loop / images, inputs converted from uint8
(and, for ours, noise drawn) inside the timing, after one warm-up pass of the same shape. Weights are untrained
(speed does not depend on them). All on the CPU, at torch's default thread count (2 here) and, batch 1, at one
thread (the collection's: collection.stylise runs on one thread).

  ours            params.yaml's texnet (6 levels, 8..48 channels) through texnet.collection.inference_net
                  (eval, BN folded, channels_last, texnet.inference.InferenceNet, TorchScript trace + freeze),
                  norm instance (GroupNorm(C, C)) and norm batch; batch 1 is collection.stylise (per-token
                  noise, inference_mode), batch 16 one forward. "eager": InferenceNet, not frozen.
  TransformerNet  Johnson et al. 2016 as in pytorch/examples fast_neural_style, written here from its layer
                  list, given ours' levers: eval, channels_last, instance norm as GroupNorm(C, C), TorchScript
                  trace + freeze, inference_mode, the same threads. "eager": not frozen.
  Gatys           nst.transfer with params.yaml's nst (60 L-BFGS steps) at the same size: transfer() wall /
                  batch (VGG build and targets included), the stage's inputs; one repeat (it is long).
  floor           conv FLOPs (2 x multiply-adds, from module shapes by forward hooks) / the best float32 sgemm
                  rate measured in the children (512^3 x 50 and 1024^3 x 10 each: a shared CPU only ever slows
                  it, and short products catch its free moments). Gatys: steps x (forward + input gradient).
  norms           ours (instance): GroupNorm vs InstanceNorm2d, channels_last vs NCHW; also the norm alone.
  levers          128 px, batch 1, 1 and 2 threads, one child, interleaved: ours step by step (TextureNet
                  folded + frozen, the network before InferenceNet; + InferenceNet's matrix-product 1x1 convs,
                  no bias before instance norm, join norms at the coarse size; + its sub-pixel joins, frozen =
                  the collection's network; the same unfrozen), norm batch before/after, and TransformerNet
                  eager vs frozen; with --compile also torch.compile of InferenceNet (inductor, cold cache: its
                  first call, the compile, is timed apart; its outputs compared with the eager net's). Twice:
                  OMP_WAIT_POLICY=PASSIVE (idle threads sleep) and ACTIVE (they spin).
  workers         the collection's way (texnet.workers spawn processes x 1 thread, stylise per image) vs one
                  process x N threads (batch 16, batch 1), warm pools, 128 px; stylise_collection end to end.

When data/prepared/content is missing (a fresh clone), the content is generated demo apes.
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import apeart  # noqa: F401, I001  (first: sets the OpenMP spin count before torch loads)
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from apeart.collection.demo import generate
from apeart.params import load_params
from apeart.core.datasets import load_pngs
from apeart.core.grids import to_pil
from apeart.core.runtime import peak_rss_mb
from apeart.nst.inputs import load_inputs
from apeart.nst.transfer import resize, transfer
from apeart.texnet.collection import FrozenNet, inference_net, stylise, stylise_collection
from apeart.texnet.inference import InferenceNet
from apeart.texnet.models import fold_batchnorm, save_model
from apeart.texnet.train import seeded_net
from apeart.vgg.backbones import VGGFeatures
from harness import RESULTS, conv_flops, record, sgemm_rate  # benchmarks/ is sys.path[0] when run as a script

ROOT = Path(__file__).resolve().parents[1]
CPU = torch.device("cpu")
CL = torch.channels_last
FAST = ("texnet instance", "texnet batch", "TransformerNet", "texnet instance eager", "TransformerNet eager")
# size, batch, images timed, threads (0: torch's default)
CONFIGS = ((128, 1, 16, 1), (128, 1, 16, 0), (128, 16, 16, 0), (256, 1, 8, 1), (256, 1, 8, 0), (256, 16, 16, 0))


# --- Johnson et al.'s TransformerNet, with ours' levers ---------------------------------------------------


def _conv(cin: int, cout: int, kernel: int, stride: int = 1, relu: bool = True) -> nn.Sequential:
    """Reflection-padded conv + instance norm (GroupNorm(C, C), affine) (+ ReLU)."""
    layers = [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, padding_mode="reflect"), nn.GroupNorm(cout, cout)]
    return nn.Sequential(*layers, *([nn.ReLU()] if relu else []))


class Residual(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv(channels, channels, 3), _conv(channels, channels, 3, relu=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class TransformerNet(nn.Module):
    """9x9 32, 3x3 64 /2, 3x3 128 /2, 5 residual blocks of 128, nearest x2 + 3x3 64, x2 + 3x3 32, 9x9 3."""

    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Sequential(_conv(3, 32, 9), _conv(32, 64, 3, 2), _conv(64, 128, 3, 2),
                                  *[Residual(128) for _ in range(5)])
        self.up = nn.ModuleList([_conv(128, 64, 3), _conv(64, 32, 3)])
        self.out = nn.Conv2d(32, 3, 9, padding=4, padding_mode="reflect")

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # RGB 0-255 in and out, as in pytorch/examples
        x = self.down(x)
        for layer in self.up:
            x = layer(F.interpolate(x, scale_factor=2, mode="nearest"))
        return self.out(x)


def frozen(net: nn.Module, *example: torch.Tensor) -> torch.jit.ScriptModule:
    """TorchScript trace + freeze, as texnet.collection.FrozenNet does ours."""
    with torch.no_grad():
        return torch.jit.freeze(torch.jit.trace(net, example, check_trace=False))


# --- inputs, runs, FLOPs -----------------------------------------------------------------------------------


def content_u8(size: int, n: int) -> torch.Tensor:
    """n uint8 (3, size, size) images: the prepared content set, repeated, bilinear-resized if needed."""
    folder = ROOT / "data/prepared/content"
    if not folder.is_dir():
        folder = Path(tempfile.mkdtemp())
        generate(range(4), 0, folder)
    images = load_pngs(folder)[1]
    if size != images.shape[-1]:
        images = F.interpolate(images.float(), size=(size, size), mode="bilinear").round().clamp(0, 255).byte()
    return images.repeat((n + len(images) - 1) // len(images), 1, 1, 1)[:n]


@torch.inference_mode()
def ours_batch(net, images: torch.Tensor, scale: float, fmt=CL) -> torch.Tensor:
    noise = [z.contiguous(memory_format=fmt) for z in net.noise(len(images), images.shape[-1], scale)]
    return net(images.float().div_(255).contiguous(memory_format=fmt), noise)


@torch.inference_mode()
def johnson(net: nn.Module, images: torch.Tensor) -> torch.Tensor:
    return net(images.float().contiguous(memory_format=CL)).clamp_(0, 255)


def seconds_per_image(run, images: torch.Tensor, batch: int) -> float:
    start = time.perf_counter()
    for i in range(0, len(images), batch):
        run(images[i:i + batch])
    return (time.perf_counter() - start) / len(images)


def fast_net(name: str):
    """(eager network, for FLOP hooks; batch-1 run, batch-N run) of a FAST model."""
    params = load_params(ROOT / "params.yaml").texnet
    if name.startswith("TransformerNet"):
        eager = TransformerNet().eval().to(memory_format=CL)
        net = eager if name.endswith("eager") else frozen(eager, torch.rand(1, 3, 64, 64).contiguous(memory_format=CL))
        return eager, lambda x: johnson(net, x), lambda x: johnson(net, x)
    seeded = seeded_net(dataclasses.replace(params, norm=name.split()[1]))
    eager, net = inference_net(seeded, CPU, freeze=False), inference_net(seeded, CPU, freeze=not name.endswith("eager"))
    return (eager, lambda x: stylise(net, x[0], "0", params.noise_scale, params.seed, CPU, threads=None),
            lambda x: ours_batch(net, x, params.noise_scale))


# --- children ----------------------------------------------------------------------------------------------


def best_sgemm() -> float:
    return max(sgemm_rate(512, 50), sgemm_rate(1024, 10))


def best_sgemm_1t() -> float:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return max(sgemm_rate(512, 20), sgemm_rate(1024, 4))
    finally:
        torch.set_num_threads(threads)


def fast_child(args) -> dict:
    rate, rate_1t = best_sgemm(), best_sgemm_1t()
    _, single, batched = fast_net(args.child)
    inputs = {size: content_u8(size, 32) for size in (128, 256)}
    base = peak_rss_mb()
    times, default = {}, torch.get_num_threads()
    for size, batch, n, threads in CONFIGS:
        run = single if batch == 1 else batched
        torch.set_num_threads(threads or default)
        run(inputs[size][:batch])  # warm-up: oneDNN primitives of this shape
        times[f"{size}/{batch}/{threads}"] = seconds_per_image(run, inputs[size][:n], batch)
    torch.set_num_threads(default)
    return {"s_per_image": times, "sgemm": rate, "sgemm_1t": rate_1t, "rss_start_mb": base,
            "peak_rss_mb": peak_rss_mb()}


def gatys_child(args) -> dict:
    rate = best_sgemm()
    nst = dataclasses.replace(load_params(ROOT / "params.yaml").nst, size=args.size)
    _, content, styles = load_inputs(nst, ROOT / "data")
    content = resize(content[:args.batch], (args.size, args.size))
    base = peak_rss_mb()
    start = time.perf_counter()
    result = transfer(content, styles, nst, CPU)
    wall = time.perf_counter() - start
    return {"s_per_image": wall / args.batch, "loop_s_per_image": result.seconds_per_step * nst.steps / args.batch,
            "batch": args.batch, "steps": nst.steps, "styles": len(styles), "sgemm": rate, "rss_start_mb": base,
            "peak_rss_mb": peak_rss_mb()}


def with_instance_norm(net: nn.Module) -> nn.Module:
    """A copy with every GroupNorm(C, C) replaced by the same-weight InstanceNorm2d(C, affine=True)."""
    net = copy.deepcopy(net)
    for module in list(net.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.GroupNorm):
                norm = nn.InstanceNorm2d(child.num_channels, eps=child.eps, affine=True)
                norm.load_state_dict(child.state_dict())
                setattr(module, name, norm)
    return net.eval()


def norms_child(args) -> dict:
    params = load_params(ROOT / "params.yaml").texnet
    gn = fold_batchnorm(seeded_net(params))  # TextureNet: one memory format throughout
    nets = {"GroupNorm": gn, "InstanceNorm2d": with_instance_norm(gn)}
    images = content_u8(128, 32)  # batch 1, the collection's way
    torch.manual_seed(0)
    x = torch.randn(1, 48, 128, 128)  # the finest join's activations, one image
    layers = {"GroupNorm": nn.GroupNorm(48, 48), "InstanceNorm2d": nn.InstanceNorm2d(48, affine=True)}
    cases = {}
    for norm, net in nets.items():
        for layout, fmt in (("channels_last", CL), ("NCHW", torch.contiguous_format)):
            net_f = copy.deepcopy(net).to(memory_format=fmt)
            x_f = x.contiguous(memory_format=fmt)
            cases[f"net {norm} {layout}"] = (lambda xs, net_f=net_f, fmt=fmt: ours_batch(net_f, xs, 1.0, fmt),
                                             images[:8], 1)
            cases[f"layer {norm} {layout}"] = (lambda _, layer=layers[norm], x_f=x_f: norm_only(layer, x_f),
                                               images[:32], 1)
    for run, xs, batch in cases.values():
        run(xs[:batch])
    times = {name: [] for name in cases}
    for _ in range(args.repeats):
        for name, (run, xs, batch) in cases.items():
            times[name].append(seconds_per_image(run, xs, batch))
    torch.manual_seed(1)
    same = ours_batch(gn, images[:4], 1.0)
    torch.manual_seed(1)
    diff = float((ours_batch(nets["InstanceNorm2d"], images[:4], 1.0) - same).abs().max())
    return {"seconds": times, "median": {k: statistics.median(v) for k, v in times.items()}, "max_abs_diff": diff,
            "layer_shape": list(x.shape), "note": "net: s/image; layer: s per call on layer_shape"}


def levers_child(args) -> dict:
    """ms/image at 128 px, batch 1, 1 and 2 threads, ours step by step and TransformerNet, interleaved in one child."""
    params = load_params(ROOT / "params.yaml").texnet
    images = content_u8(128, 8)
    runs, nets = {}, {}
    for norm in ("instance", "batch"):
        folded = fold_batchnorm(seeded_net(dataclasses.replace(params, norm=norm))).to(memory_format=CL)
        nets[f"{norm} TextureNet frozen"] = FrozenNet(folded)
        if norm == "instance":
            nets[f"{norm} + 1x1 matmul, coarse join norm, frozen"] = FrozenNet(InferenceNet(folded, subpixel=False))
            nets[f"{norm} InferenceNet eager"] = InferenceNet(folded)
        nets[f"{norm} InferenceNet frozen"] = FrozenNet(InferenceNet(folded))
    for name, net in nets.items():
        runs[f"texnet {name}"] = lambda x, net=net: stylise(net, x[0], "0", params.noise_scale, params.seed, CPU,
                                                            threads=None)
    tnet = TransformerNet().eval().to(memory_format=CL)
    tnet_frozen = frozen(tnet, torch.rand(1, 3, 64, 64).contiguous(memory_format=CL))
    runs["TransformerNet eager"], runs["TransformerNet frozen"] = (lambda x: johnson(tnet, x),
                                                                   lambda x: johnson(tnet_frozen, x))
    compile_s, compiled = None, {}
    if args.compile:
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp()  # cold, as a fresh worker process finds it
        torch.set_num_threads(1)
        eager = nets["instance InferenceNet eager"]
        net = torch.compile(eager)
        start = time.perf_counter()
        first = stylise(net, images[0], "0", params.noise_scale, params.seed, CPU)
        compile_s = time.perf_counter() - start
        again, reference = (stylise(n, images[0], "0", params.noise_scale, params.seed, CPU) for n in (net, eager))
        compiled = {"repeatable": bool(torch.equal(first, again)),
                    "equal_to_eager": bool(torch.equal(first, reference)),
                    "max_abs_diff_to_eager": float((first - reference).abs().max()),
                    "uint8_pixels_differing": int(((first * 255).round() != (reference * 255).round()).sum())}
        runs["texnet instance InferenceNet compiled"] = lambda x: stylise(net, x[0], "0", params.noise_scale,
                                                                           params.seed, CPU, threads=None)
    threads = (1, 2)
    for t in threads:
        torch.set_num_threads(t)
        for run in runs.values():
            run(images[:1])
    ms = {f"{name} {t}t": [] for t in threads for name in runs}
    for _ in range(args.repeats):
        for t in threads:
            torch.set_num_threads(t)
            for name, run in runs.items():
                ms[f"{name} {t}t"].append(1e3 * seconds_per_image(run, images, 1))
    torch.set_num_threads(threads[-1])
    return {"ms_per_image": ms, "compile_s": compile_s, "compiled": compiled, "sgemm": best_sgemm(),
            "sgemm_1t": best_sgemm_1t(), "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY")}


@torch.inference_mode()
def norm_only(layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return layer(x)


_WORKER: dict = {}


def _worker_start(params) -> None:
    torch.set_num_threads(1)  # as collection._start
    _WORKER.update(net=inference_net(seeded_net(params), CPU), images=content_u8(128, 4), params=params)


def _worker_stylise(i: int) -> int:
    p = _WORKER["params"]
    stylise(_WORKER["net"], _WORKER["images"][i % 4], str(i), p.noise_scale, p.seed, CPU)
    return os.getpid()


def workers_child(args) -> dict:
    params = load_params(ROOT / "params.yaml").texnet
    n, threads = args.images, torch.get_num_threads()
    images = content_u8(128, n)
    _, single, batched = fast_net("texnet instance")
    folder = tempfile.TemporaryDirectory()
    tmp = Path(folder.name)
    for i, image in enumerate(images):
        to_pil(image).save(tmp / f"{i}.png")
    save_model(seeded_net(params), tmp / "model.pt")
    runs = iter(range(1_000_000))

    def collection() -> float:
        work = tmp / f"out{next(runs)}"  # a fresh folder: finished files in an old one would be skipped
        start = time.perf_counter()
        stylise_collection(tmp / "model.pt", params, tmp, [str(i) for i in range(n)], work, CPU, lambda name: None)
        return n / (time.perf_counter() - start)

    def one_thread() -> float:
        torch.set_num_threads(1)
        try:
            return 1 / seconds_per_image(single, images, 1)
        finally:
            torch.set_num_threads(threads)

    with multiprocessing.get_context("spawn").Pool(params.workers, _worker_start, (params,)) as pool:
        while len(set(pool.map(_worker_stylise, range(4 * params.workers), chunksize=1))) < params.workers:
            pass  # warm-up until every worker has started and stylised (the initializers run after Pool() returns)
        single(images[:1]), batched(images[:16])
        ways = {
            f"{params.workers} spawn processes x 1 thread, per image (warm)":
                lambda: n / _timed(lambda: pool.map(_worker_stylise, range(n), chunksize=8)),
            f"1 process x {threads} threads, batch 16": lambda: 1 / seconds_per_image(batched, images, 16),
            f"1 process x {threads} threads, batch 1": lambda: 1 / seconds_per_image(single, images, 1),
            "1 process x 1 thread, batch 1": one_thread,
        }
        rates = {name: [] for name in ways}
        for _ in range(args.repeats):
            for name, way in ways.items():
                rates[name].append(way())
    end_to_end = collection()  # once: startup-dominated
    folder.cleanup()
    return {"images": n, "images_per_s": rates, "median": {k: statistics.median(v) for k, v in rates.items()},
            "stylise_collection_images_per_s": end_to_end}


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def child(name: str, *extra: str, env: dict[str, str] | None = None) -> dict:
    cmd = [sys.executable, __file__, "--child", name, *extra]
    out = subprocess.run(cmd, check=False, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if out.returncode:
        sys.exit(f"child {name} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def flops_child(args) -> dict[str, dict[int, float]]:
    """Conv (and matmul) FLOPs per image of each model at 128 and 256 px; Gatys: its whole optimisation. Ours:
    the folded TextureNet's (the floor of its function as trained) and InferenceNet's (what runs, fewer)."""
    params = load_params(ROOT / "params.yaml")
    nst = params.nst
    vgg = VGGFeatures(nst.backbone, nst.content_layers + nst.style_layers, nst.pooling)
    out: dict[str, dict[int, float]] = {name: {} for name in (*FAST, "InferenceNet", "Gatys")}
    for size in (128, 256):
        x = torch.rand(1, 3, size, size).contiguous(memory_format=CL)
        for name in FAST:
            if name.startswith("TransformerNet"):
                out[name][size] = sum(conv_flops(TransformerNet(), x))
                continue
            net = fold_batchnorm(seeded_net(dataclasses.replace(params.texnet, norm=name.split()[1])))
            out[name][size] = sum(conv_flops(net, x, net.noise(1, size, 1.0)))
        lean = InferenceNet(fold_batchnorm(seeded_net(params.texnet)).to(memory_format=CL))
        noise = [z.contiguous(memory_format=CL) for z in lean.noise(1, size, 1.0)]
        with torch.inference_mode(), FlopCounterMode(display=False) as counter:
            lean(x, noise)
        out["InferenceNet"][size] = float(counter.get_total_flops())
        out["Gatys"][size] = nst.steps * 2 * sum(conv_flops(vgg, x))  # per step: forward + input gradient
    return out


CHILDREN = {**dict.fromkeys(FAST, fast_child), "gatys": gatys_child, "norms": norms_child, "levers": levers_child,
            "workers": workers_child, "flops": flops_child}


def vm_hwm_mb() -> float:
    """This process's own peak RSS (MiB), from /proc (not inherited from the parent, unlike ru_maxrss)."""
    line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM"))
    return int(line.split()[1]) / 1024


# --- main --------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--gatys-sizes", type=int, nargs="*", default=[128, 256])
    parser.add_argument("--gatys-batch", type=int, nargs="*", default=[2, 1], help="one per --gatys-sizes")
    parser.add_argument("--images", type=int, default=64, help="workers comparison: images per way")
    parser.add_argument("--compile", action="store_true", help="levers: also torch.compile (minutes to compile)")
    parser.add_argument("--levers-only", action="store_true", help="only the FLOP count and the levers children")
    parser.add_argument("--no-save", action="store_true", help="do not append to results/bench_texnet.jsonl")
    parser.add_argument("--child", choices=list(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=128, help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        out = CHILDREN[args.child](args)
        print(json.dumps({**out, "vm_hwm_mb": vm_hwm_mb()} if "peak_rss_mb" in out else out))
        return
    start, load_before = time.perf_counter(), os.getloadavg()[0]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, OMP_WAIT_POLICY="
          f"{os.environ.get('OMP_WAIT_POLICY')}, repeats {args.repeats}, load average {load_before:.2f}")
    flops = {name: {int(size): v for size, v in d.items()} for name, d in child("flops").items()}
    runs: dict[str, list[dict]] = {name: [] for name in FAST}
    gatys: dict[int, dict] = {}
    gatys_jobs = [] if args.levers_only else list(zip(args.gatys_sizes, args.gatys_batch))
    for r in range(0 if args.levers_only else max(args.repeats, len(gatys_jobs))):
        for name in FAST if r < args.repeats else ():
            runs[name].append(child(name))
        if r < len(gatys_jobs):  # Gatys' one repeat per size, inside the interleaving
            size, batch = gatys_jobs[r]
            gatys[size] = child("gatys", "--size", str(size), "--batch", str(batch))
    norms = None if args.levers_only else child("norms", "--repeats", str(args.repeats))
    levers = {policy: child("levers", "--repeats", str(args.repeats),
                            *(["--compile"] if args.compile and policy == "PASSIVE" else []),
                            env={"OMP_WAIT_POLICY": policy}) for policy in ("PASSIVE", "ACTIVE")}
    workers = None if args.levers_only else child("workers", "--repeats", str(args.repeats), "--images",
                                                  str(args.images))

    rates = ([c["sgemm"] for runs_ in runs.values() for c in runs_] + [g["sgemm"] for g in gatys.values()]
             + [lev["sgemm"] for lev in levers.values()])
    rates_1t = [c["sgemm_1t"] for runs_ in runs.values() for c in runs_] + [lev["sgemm_1t"] for lev in levers.values()]
    rate, rate_1t = max(rates, default=float("nan")), max(rates_1t, default=float("nan"))
    keys = [f"{size}/{batch}/{threads}" for size, batch, _, threads in CONFIGS]
    med = {name: {k: statistics.median(c["s_per_image"][k] for c in runs[name]) for k in keys} for name in runs
           if runs[name]}
    table = []
    if med:
        rss = {name: statistics.median(c["peak_rss_mb"] for c in runs[name]) for name in FAST}
        rss_start = {name: statistics.median(c["rss_start_mb"] for c in runs[name]) for name in FAST}
        print(f"\nsgemm: best {rate / 1e9:.1f} GFLOP/s at torch's default threads, {rate_1t / 1e9:.1f} at 1 thread, "
              f"over {len(rates)} children; floor = the model's conv FLOPs (ours: TextureNet's) at the rate of its "
              "thread count; peak RSS: the child's ru_maxrss (median over repeats), at the timing's start in ()")
        print(f"{'model':21s} {'px':>4s} {'batch':>5s} {'threads':>7s} {'ms/image':>10s} {'images/s':>9s} "
              f"{'GFLOP':>7s} {'floor ms':>9s} {'x floor':>8s} {'Gatys/this':>10s} {'TNet/this':>9s} "
              f"{'peak RSS MiB':>14s}")
        for name in FAST:
            for (size, batch, _, threads), key in zip(CONFIGS, keys):
                sec = med[name][key]
                floor = flops[name][size] / (rate_1t if threads == 1 else rate)
                row = {"model": name, "size": size, "batch": batch, "threads": threads or torch.get_num_threads(),
                       "ms_per_image": sec * 1e3, "images_per_s": 1 / sec, "gflop_per_image": flops[name][size] / 1e9,
                       "floor_ms": floor * 1e3, "over_floor": sec / floor,
                       "gatys_over_this": gatys[size]["s_per_image"] / sec if size in gatys else None,
                       "tnet_over_this": med["TransformerNet"][key] / sec,
                       "peak_rss_mb": rss[name], "rss_start_mb": rss_start[name]}
                table.append(row)
                vs_gatys = f"{row['gatys_over_this']:9.0f}x" if row["gatys_over_this"] else f"{'-':>10s}"
                print(f"{name:21s} {size:4d} {batch:5d} {row['threads']:7d} {sec * 1e3:10.1f} {1 / sec:9.2f} "
                      f"{row['gflop_per_image']:7.2f} {floor * 1e3:9.2f} {sec / floor:7.1f}x {vs_gatys} "
                      f"{row['tnet_over_this']:8.2f}x {rss[name]:7.0f} ({rss_start[name]:.0f})")
        print(f"InferenceNet (what runs for ours): {flops['InferenceNet'][128] / 1e9:.2f} GFLOP at 128 px, "
              f"{flops['InferenceNet'][256] / 1e9:.2f} at 256 (conv + matmul, torch's FLOP counter)")
    for size, g in gatys.items():
        floor = flops["Gatys"][size] / rate
        print(f"{'Gatys (nst)':21s} {size:4d} {g['batch']:5d} {torch.get_num_threads():7d} "
              f"{g['s_per_image'] * 1e3:10.0f} {1 / g['s_per_image']:9.3f} {flops['Gatys'][size] / 1e9:7.0f} "
              f"{floor * 1e3:9.0f} "
              f"{g['s_per_image'] / floor:7.1f}x {1.0:9.0f}x {'-':>9s} {g['peak_rss_mb']:7.0f} "
              f"({g['rss_start_mb']:.0f})")
    if gatys:
        print("Gatys: one repeat, transfer() wall / batch; loop only: "
              + ", ".join(f"{s} px {g['steps']} steps {g['loop_s_per_image']:.1f} s/image" for s, g in gatys.items()))
    skipped = {128, 256} - set(gatys)
    if skipped and not args.levers_only:
        print(f"Gatys skipped at {sorted(skipped)} px (--gatys-sizes)")

    if table:
        print("\ntargets (texnet instance, batch 1; 1 thread is collection.stylise's, as the collection runs it):")
        for row in table:
            if row["model"] == "texnet instance" and row["batch"] == 1:
                g = f"{row['gatys_over_this']:.0f}x" if row["gatys_over_this"] else "-"
                print(f"  {row['size']} px, {row['threads']} thread(s), TransformerNet on as many: vs Gatys {g} "
                      f"(target >= 300x), vs TransformerNet {row['tnet_over_this']:.2f}x (target >= 2x), "
                      f"{row['over_floor']:.1f}x the floor")
        for size in gatys:
            best_t = min(med["TransformerNet"][f"{size}/1/{t}"] for t in (0, 1))
            ours = med["texnet instance"][f"{size}/1/1"]
            print(f"  {size} px, each at its faster thread count: vs TransformerNet {best_t / ours:.2f}x")

    if norms:
        print(f"\nnorms, ours (instance, TextureNet) at 128 px, median of {args.repeats} (outputs max abs diff "
              f"{norms['max_abs_diff']:.1e}):")
        m = norms["median"]
        cells = [(n, lay) for n in ("GroupNorm", "InstanceNorm2d") for lay in ("channels_last", "NCHW")]
        for what, unit in (("net", "net, batch 1, ms/image"), ("layer", f"layer on {tuple(norms['layer_shape'])}, ms")):
            print(f"  {unit:36s}" + "  ".join(f"{n} {lay} {m[f'{what} {n} {lay}'] * 1e3:6.2f}" for n, lay in cells))

    for policy, lev in levers.items():
        lm = lev["ms_per_image"]
        print(f"\nlevers, OMP_WAIT_POLICY={policy}, 128 px, batch 1, ms/image (median of {args.repeats}); ratios: "
              "medians of per-repeat ratios (before / after: above 1 is faster)")

        def ratio(a: str, b: str, lm=lm) -> float:
            return statistics.median(x / y for x, y in zip(lm[a], lm[b]))

        names = sorted({k.rsplit(" ", 1)[0] for k in lm}, key=lambda k: list(lm).index(f"{k} 1t"))
        for t in (1, 2):
            base, tnet = f"texnet instance TextureNet frozen {t}t", f"TransformerNet frozen {t}t"
            fl = (rate_1t if t == 1 else rate) / 1e3
            print(f"  {t} thread(s):")
            for name in names:
                k = f"{name} {t}t"
                floor = flops["InferenceNet" if "InferenceNet" in name else "texnet instance"][128] / fl \
                    if name.startswith("texnet") else flops["TransformerNet"][128] / fl
                before = base if "instance" in name else base.replace("instance", "batch")
                extra = f"  vs TextureNet frozen {ratio(before, k):.2f}x" if name.startswith("texnet") else ""
                print(f"    {name:52s} {statistics.median(lm[k]):6.1f}  {statistics.median(lm[k]) / floor:4.1f}x its "
                      f"floor  TNet frozen / this {ratio(tnet, k):.2f}x{extra}")
        if lev["compile_s"] is not None:
            gain = (statistics.median(lm["texnet instance InferenceNet frozen 1t"])
                    - statistics.median(lm["texnet instance InferenceNet compiled 1t"]))
            paid = f"{lev['compile_s'] / gain * 1e3:.0f} images per process" if gain > 0 else "never"
            print(f"  torch.compile (inductor, cold cache, 1 thread): first call {lev['compile_s']:.1f} s; paid back "
                  f"after {paid}; outputs {lev['compiled']}")

    if workers:
        print(f"\nworkers, ours (instance) at 128 px, {workers['images']} images, images/s (median of {args.repeats}):")
        for name, v in workers["median"].items():
            print(f"  {name:50s} {v:7.1f}   {' '.join(f'{x:.1f}' for x in workers['images_per_s'][name])}")
        print(f"  {'stylise_collection end to end (spawn, load, PNGs), once':50s} "
              f"{workers['stylise_collection_images_per_s']:7.1f}")

    params = load_params(ROOT / "params.yaml")
    config = {"texnet": dataclasses.asdict(params.texnet), "nst": dataclasses.asdict(params.nst),
              "repeats": args.repeats, "gatys_sizes": args.gatys_sizes, "gatys_batch": args.gatys_batch,
              "images": args.images, "compile": args.compile, "levers_only": args.levers_only, "device": "cpu"}
    results = {
        "sgemm_gflops": round(rate / 1e9, 2), "sgemm_gflops_1t": round(rate_1t / 1e9, 2),
        "sgemm_gflops_all": [round(x / 1e9, 2) for x in rates],
        "gflop_per_image": {k: {s: round(v / 1e9, 3) for s, v in d.items()} for k, d in flops.items()},
        "s_per_image": {name: [c["s_per_image"] for c in runs[name]] for name in FAST},
        "rss_mb": {name: [{k: round(c[k], 1) for k in ("rss_start_mb", "peak_rss_mb", "vm_hwm_mb")} for c in runs[name]]
                   for name in FAST},
        "table": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()} for row in table],
        "gatys": gatys, "norms": norms, "levers": levers, "workers": workers,
        "loadavg_before": round(load_before, 2), "wall_s": round(time.perf_counter() - start, 1),
    }
    out = RESULTS / "bench_texnet.jsonl"
    row = results if args.no_save else record(out, config, results)
    print(f"\n{row['wall_s']:.0f} s in all; load average {load_before:.2f} -> {os.getloadavg()[0]:.2f}"
          + ("" if args.no_save else f"; appended to {out.relative_to(ROOT)}"))


if __name__ == "__main__":
    main()
