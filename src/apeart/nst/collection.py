"""Gatys over a whole collection, sharded across torchrun ranks: the images go in fixed chunks of
nst.content_count (one joint L-BFGS run each, as in stylize), chunk i to rank i % world, and every finished
file is saved to a resume folder (core.resume: keyed by every input, each file recorded). A chunk's result
depends on its images and the params alone, so with one thread per process (stage stylize_collection_gatys) the bytes do not depend on the number of
processes, and a relaunch redoes only unfinished chunks."""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import torch

from apeart.nst.params import NstParams
from apeart.core.files import png_bytes
from apeart.core.grids import to_pil
from apeart.core.resume import read_finished, resume_key, save_finished
from apeart.nst.transfer import transfer


def chunks(names: list[str], size: int) -> list[list[str]]:
    """`names` in consecutive chunks of `size` (the last may be shorter): the same whatever the world size."""
    return [names[i : i + size] for i in range(0, len(names), size)]


def run_key(params: NstParams, styles: list[torch.Tensor], weights: dict[str, str], contents: list[Path]) -> str:
    """A digest of everything that decides an output: the content files (in order), the nst params of the
    optimisation and its chunking, the style images and the VGG weights record; names the resume folder, goes in
    each lineage row."""
    p = params
    config = [p.content_count, p.size, p.backbone, p.pooling, p.content_layers, p.style_layers, p.style_layer_weights,
              p.alpha, p.beta, p.gram_norm, p.tv_weight, p.optimizer, p.lr, p.momentum, p.init, p.steps,
              p.style_blend_weights, p.preserve_color, p.scales, p.memory_format, p.seed]
    style_digest = hashlib.sha256()
    for style in styles:
        style_digest.update(str(tuple(style.shape)).encode() + style.contiguous().numpy().tobytes())
    return resume_key(contents, [config, weights, style_digest.hexdigest()])


def stylise_shard(names: list[str], load: Callable[[list[str]], torch.Tensor], styles: list[torch.Tensor],
                  params: NstParams, work: Path, device: torch.device, on_chunk: Callable[[list[str]], None],
                  rank: int = 0, world: int = 1) -> None:
    """This rank's chunks of `names` -> `work/<name>.png`, skipping chunks whose files this code recorded as
    finished there (core.resume).

    `load(chunk)` gives the chunk's content images (B, 3, S, S) in [0, 1]; `on_chunk(chunk)` is called as
    each chunk's files are written."""
    for i, chunk in enumerate(chunks(names, params.content_count)):
        if i % world != rank or all(read_finished(work, f"{name}.png") is not None for name in chunk):
            continue
        result = transfer(load(chunk), styles, params, device)
        for name, image in zip(chunk, result.images):
            save_finished(work, f"{name}.png", png_bytes(to_pil(image)))
        on_chunk(chunk)
