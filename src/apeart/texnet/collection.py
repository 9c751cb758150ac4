"""Stylising a collection with a trained texture network: one image at a time per process, noise seeded
per token id, so every output's bytes depend only on (image, token, model), whatever the number of processes.

Why one image and one thread per process: on the CPU the float results of a batch, or of a different thread
count, differ from a single image's in the last bits (~3e-5 with instance norm), and that flips some 8-bit
pixels. It costs no speed: one image at a time beat batches of 16 per image in every repeat of
benchmarks/bench_texnet.py; whether two one-thread processes beat one two-thread process was within the
noise of a loaded machine there.
"""
from __future__ import annotations

import hashlib
import multiprocessing
from collections.abc import Callable
from pathlib import Path

import torch

from apeart.core.checkpoint import load_checkpoint, save_checkpoint
from apeart.core.config import TexnetParams
from apeart.core.datasets import load_pngs
from apeart.core.files import png_bytes, remove_temps, write_bytes
from apeart.core.grids import to_pil
from apeart.texnet.models import TextureNet, fold_batchnorm
from apeart.texnet.train import seeded_net


def save_model(net: TextureNet, params: TexnetParams, path: Path) -> None:
    """The trained network's weights (its architecture is texnet.levels, channels and norm)."""
    save_checkpoint(path, {"net": net.state_dict()})


def load_model(path: Path, params: TexnetParams, device: torch.device) -> TextureNet:
    """The network saved at `path`, ready for inference (`inference_net`)."""
    payload = load_checkpoint(path, device, "texnet")
    if payload is None:
        raise FileNotFoundError(f"no intact texture network at {path}; run train_texnet first")
    net = seeded_net(params)
    net.load_state_dict(payload["net"])
    return inference_net(net, device)


def inference_net(net: TextureNet, device: torch.device) -> TextureNet:
    """An eval-mode copy on `device` with BatchNorm folded, channels_last on the CPU (oneDNN's fast layout)."""
    return fold_batchnorm(net.to(device)).to(memory_format=_format(device))


def _format(device: torch.device) -> torch.memory_format:
    return torch.channels_last if device.type == "cpu" else torch.contiguous_format


def token_noise(net: TextureNet, token: str, size: int, scale: float, seed: int) -> list[torch.Tensor]:
    """The noise pyramid (1, 3, s, s) per level of one image, from a generator seeded by (seed, token id) alone."""
    key = int.from_bytes(hashlib.sha256(f"{seed}:{token}".encode()).digest()[:8], "little")
    return net.noise(1, size, scale, torch.Generator().manual_seed(key))


@torch.inference_mode()
def stylise(net: TextureNet, image: torch.Tensor, token: str, scale: float, seed: int,
            device: torch.device) -> torch.Tensor:
    """One uint8 image (3, S, S) stylised: RGB [0, 1] (3, S, S) on the CPU."""
    fmt = _format(device)
    noise = [z.to(device).contiguous(memory_format=fmt) for z in token_noise(net, token, image.shape[-1], scale, seed)]
    x = image[None].to(device).float().div_(255).contiguous(memory_format=fmt)
    return net(x, noise)[0].float().cpu()


_worker: dict = {}


def _start(model: Path, params: TexnetParams, folder: Path) -> None:
    torch.set_num_threads(1)
    cpu = torch.device("cpu")
    names, images = load_pngs(folder)
    _worker.update(net=load_model(model, params, cpu), params=params, images=dict(zip(names, images)))


def _render(net: TextureNet, image: torch.Tensor, name: str, params: TexnetParams, work: Path,
            device: torch.device) -> str:
    """Stylise token `name` and write `work/<name>.png` atomically; the name."""
    write_bytes(work / f"{name}.png", png_bytes(to_pil(stylise(net, image, name, params.noise_scale, params.seed,
                                                               device))))
    return name


def _stylise_file(job: tuple[str, Path]) -> str:
    name, work = job
    return _render(_worker["net"], _worker["images"][name], name, _worker["params"], work, torch.device("cpu"))


def work_key(model: Path, params: TexnetParams, folder: Path, names: list[str]) -> str:
    """Names the resume folder: a digest of the model, the noise params and every input image."""
    digest = hashlib.sha256(model.read_bytes())
    digest.update(f"{params.noise_scale}:{params.seed}".encode())
    for name in names:
        digest.update(name.encode() + (folder / f"{name}.png").read_bytes())
    return digest.hexdigest()[:16]


def stylise_collection(model: Path, params: TexnetParams, folder: Path, names: list[str], work: Path,
                       device: torch.device, on_image: Callable[[str], None], rank: int = 0, world: int = 1) -> None:
    """This rank's share (`names[rank::world]`) of the images of `folder` -> `work/<name>.png`, skipping those
    already there (`work` is resume state: finished files are whole, each written atomically).

    One process (world 1) on the CPU runs texnet.workers one-thread processes; a torchrun rank or a GPU
    stylises in-process (a rank with one thread). `on_image(name)` is called as each file is finished.
    """
    if world == 1:  # with several ranks writing, no one may sweep the folder
        remove_temps(work)
    todo = [n for n in names[rank::world] if not (work / f"{n}.png").is_file()]
    if not todo:
        return
    if device.type != "cpu" or world > 1:
        if device.type == "cpu":
            torch.set_num_threads(1)
        net, images = load_model(model, params, device), dict(zip(*load_pngs(folder)))
        for name in todo:
            on_image(_render(net, images[name], name, params, work, device))
        return
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no OpenMP state forked mid-use
    with context.Pool(params.workers, initializer=_start, initargs=(model, params, folder)) as pool:
        for name in pool.imap_unordered(_stylise_file, [(n, work) for n in todo], chunksize=8):
            on_image(name)
