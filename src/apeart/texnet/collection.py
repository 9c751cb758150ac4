"""Stylising a collection with a trained texture network: one image at a time per process, noise seeded
per token id, so every output's bytes depend only on (image, token, model), whatever the number of processes.

Why one image and one thread per process: on the CPU the float results of a batch, or of a different thread
count, differ from a single image's in the last bits (~3e-5 with instance norm), and that flips some 8-bit
pixels. So `stylise` runs on one thread on the CPU whatever its caller's setting. It costs no speed: one image at
a time beat batches of 16 per image in every repeat of benchmarks/bench_texnet.py, and one image on one thread
beat the same on two (measured when apeart made torch's threads sleep between ops, OMP_WAIT_POLICY=PASSIVE:
waking them cost more than this small network's ops gained).
"""
from __future__ import annotations

import hashlib
import multiprocessing
import signal
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path

import torch
import torch.nn as nn
from PIL import Image

from apeart.texnet.params import TexnetParams
from apeart.core.datasets import to_tensor
from apeart.core.files import png_bytes, remove_temps
from apeart.core.grids import to_pil
from apeart.core.lifetime import spawned_children_end_with_me
from apeart.core.memory import Need, inference_peak, layer_outputs, module_bytes, private_rss, require
from apeart.core.resume import read_finished, resume_key, save_finished
from apeart.core.runtime import fast_layout
from apeart.texnet.inference import InferenceNet
from apeart.texnet.models import TexnetError, TextureNet, fold_batchnorm, read_model


class FrozenNet(nn.Module):
    """A texture network (TextureNet or InferenceNet) traced and frozen by TorchScript, its `levels` and `noise`
    kept: the same kernels in the same order, so the same bits, with less per-op overhead
    (benchmarks/bench_texnet.py)."""

    def __init__(self, net: TextureNet | InferenceNet) -> None:
        super().__init__()
        self.levels, self.noise = net.levels, net.noise
        side = 2**net.levels  # the graph does not depend on the side: every size runs through it
        image = torch.zeros(1, 3, side, side).contiguous(memory_format=torch.channels_last)
        noise = [z.contiguous(memory_format=torch.channels_last) for z in net.noise(1, side, 1.0, torch.Generator())]
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch 2.9+ calls jit.trace and jit.freeze deprecated
            warnings.simplefilter("ignore", torch.jit.TracerWarning)  # group_norm's input-size check, a no-op here
            self.graph = torch.jit.freeze(torch.jit.trace(net, (image, noise), check_trace=False))

    def forward(self, image: torch.Tensor, noise: list[torch.Tensor]) -> torch.Tensor:
        return self.graph(image, noise)


Net = TextureNet | InferenceNet | FrozenNet


def load_model(path: Path, device: torch.device) -> Net:
    """The network saved at `path`, ready for inference (`inference_net`); TexnetError if unusable."""
    return inference_net(read_model(path, device), device)


def inference_net(net: TextureNet, device: torch.device, freeze: bool = True) -> Net:
    """An eval-mode copy on `device` with BatchNorm folded; on the CPU channels_last (oneDNN's fast layout), an
    InferenceNet (fewer FLOPs and passes, the same function up to float rounding) and, with `freeze`, frozen."""
    net = fold_batchnorm(net.to(device)).to(memory_format=fast_layout(device))
    # At 128 px, batch 1 (benchmarks/bench_texnet.py "levers", README "Speed"): frozen InferenceNet 1.1-1.2x faster
    # than the frozen TextureNet, and freezing 1.3-1.4x faster than the unfrozen InferenceNet, whose bits it
    # computes. A GPU keeps the folded module (not measured there).
    if device.type != "cpu":
        return net
    lean = InferenceNet(net)
    return FrozenNet(lean).eval() if freeze else lean


def token_noise(net: Net, token: str, size: int, scale: float, seed: int) -> list[torch.Tensor]:
    """The noise pyramid (1, 3, s, s) per level of one image, from a generator seeded by (seed, token id) alone."""
    key = int.from_bytes(hashlib.sha256(f"{seed}:{token}".encode()).digest()[:8], "little")
    return net.noise(1, size, scale, torch.Generator().manual_seed(key))


@contextmanager
def intra_op_threads(n: int | None) -> Iterator[None]:
    """torch's intra-op thread count set to `n` inside (None: left as it is), restored after."""
    before = torch.get_num_threads()
    if n is None or n == before:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@torch.inference_mode()
def stylise(net: Net, image: torch.Tensor, token: str, scale: float, seed: int, device: torch.device,
            threads: int | None = 1) -> torch.Tensor:
    """One uint8 image (3, S, S) stylised: RGB [0, 1] (3, S, S) on the CPU. On the CPU on `threads` threads (one:
    the same bits whatever the caller's setting; None: the caller's, for benchmarks)."""
    fmt = fast_layout(device)
    noise = [z.to(device).contiguous(memory_format=fmt) for z in token_noise(net, token, image.shape[-1], scale, seed)]
    x = image[None].to(device).float().div_(255).contiguous(memory_format=fmt)
    with intra_op_threads(threads if device.type == "cpu" else None):
        return net(x, noise)[0].float().cpu()


_worker: dict = {}
RUNTIME = 64 * 2**20  # a worker's TorchScript graph and oneDNN's kernel cache, once it has stylised an image


def _start(model: Path, params: TexnetParams) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the parent reports it once and stops the pool
    torch.set_num_threads(1)
    _worker.update(net=load_model(model, torch.device("cpu")), params=params)


def _render(net: Net, image: torch.Tensor, name: str, params: TexnetParams, work: Path,
            device: torch.device) -> str:
    """Stylise token `name` and save `work/<name>.png` as finished (core.resume); the name."""
    save_finished(work, f"{name}.png", png_bytes(to_pil(stylise(net, image, name, params.noise_scale, params.seed,
                                                                 device))))
    return name


def _stylise_file(job: tuple[str, Path, Path]) -> str:
    name, source, work = job
    return _render(_worker["net"], to_tensor(Image.open(source)), name, _worker["params"],
                   work, torch.device("cpu"))


def worker_need(net: TextureNet, size: int) -> int:
    """Bytes one worker process allocates, an upper-ish bound: this process's private memory now
    (core.memory.private_rss: a spawned worker imports what this process imported, the stage script being its
    main module too), RUNTIME, three copies of the weights (read, folded, frozen) and the layer peak of one `size`
    image (core.memory.inference_peak)."""
    meta = torch.device("meta")
    image, noise = torch.empty(1, 3, size, size, device=meta), net.noise(1, size, 1.0, device=meta)
    peak = inference_peak(layer_outputs(net, image, noise))
    return private_rss() + RUNTIME + 3 * module_bytes(net) + peak


def work_key(model: Path, params: TexnetParams, folder: Path, names: list[str]) -> str:
    """Names the resume folder: a digest of the model, the noise params and every input image."""
    return resume_key([model, *(folder / f"{name}.png" for name in names)], [params.noise_scale, params.seed])[:16]


def stylise_collection(model: Path, params: TexnetParams, folder: Path, names: list[str], work: Path,
                       device: torch.device, on_image: Callable[[str], None], rank: int = 0, world: int = 1) -> None:
    """This rank's share (`names[rank::world]`) of the images of `folder` -> `work/<name>.png`, skipping those
    this code recorded as finished there (`work` is resume state: core.resume).

    One process (world 1) on the CPU runs texnet.workers one-thread processes; a torchrun rank, a GPU, or a pool
    that would have one process stylises in-process (on the CPU with one thread: the same bytes). `on_image(name)`
    is called as each file is finished. A worker that dies (the OOM killer) is TexnetError: the finished files
    stay for a rerun.
    """
    if world == 1:  # with several ranks writing, no one may sweep the folder
        remove_temps(work)
    todo = [n for n in names[rank::world] if read_finished(work, f"{n}.png") is None]
    net = read_model(model, device)  # checked here, so a damaged file is one error, not a failing worker pool
    if not todo:
        return
    workers = min(params.workers, len(todo))
    if device.type != "cpu" or world > 1 or workers == 1:  # a one-process pool would only add its start-up
        if device.type == "cpu" and world > 1:  # a rank: one thread beside the others (stylise runs one anyway)
            torch.set_num_threads(1)
        net = inference_net(net, device)
        for name in todo:
            image = to_tensor(Image.open(folder / f"{name}.png"))
            on_image(_render(net, image, name, params, work, device))
        return
    with Image.open(folder / f"{todo[0]}.png") as first:  # prepare made every image of `folder` this square size
        side = first.width
    require("texnet.workers", Need(workers * worker_need(net, side)), f"{workers} processes at {side} px")
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no OpenMP state forked mid-use
    pool = ProcessPoolExecutor(workers, context, initializer=_start, initargs=(model, params))
    try:
        with spawned_children_end_with_me():  # a SIGKILLed stage leaves no worker behind (submit starts them)
            futures = [pool.submit(_stylise_file, (n, folder / f"{n}.png", work)) for n in todo]
        for done in as_completed(futures):
            on_image(done.result())
    except BrokenProcessPool:
        raise TexnetError(f"a texnet.workers process died (killed by the OOM killer?) with images left; the finished "
                          f"ones stay in {work}: run again to resume (fewer texnet.workers need less memory)") from None
    finally:
        pool.shutdown(cancel_futures=True)  # an error or Ctrl-C: the running images end, no new one starts
