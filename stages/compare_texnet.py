"""Stage compare_texnet: Gatys vs the texture network on the held-out NST content images, the texture
network's images being the collection's files (data/stylized)."""
from __future__ import annotations

from pathlib import Path

import torch

from apeart.core.cli import run_stage
from apeart.core.config import load_sections
from apeart.core.files import save_png
from apeart.core.grids import to_pil
from apeart.core.metrics import write_metrics
from apeart.core.runtime import deterministic, resolve_device
from apeart.nst.params import NstParams
from apeart.nst.inputs import load_rgb
from apeart.texnet.compare import compare
from apeart.texnet.data import held_out_images, style_of
from apeart.texnet.params import TexnetParams

STYLIZED, OUT = Path("data/stylized"), Path("reports/texnet/gatys")


def main() -> None:
    texnet, nst = load_sections(TexnetParams, NstParams)
    deterministic(texnet.seed)
    tokens, held = held_out_images(Path("data/prepared/texnet"))
    fast = torch.stack([load_rgb(STYLIZED / f"{t}.png") for t in tokens])
    result = compare(held.float() / 255, fast, style_of(texnet, nst), nst, texnet, resolve_device(texnet.device))
    for token, image in zip(tokens, result.gatys):
        save_png(to_pil(image), OUT / f"{token}.png")
    write_metrics(Path("metrics/texnet/held_out.json"), "texnet", result.metrics)
    print(f"compare_texnet: {len(tokens)} held-out images, texture network / Gatys total loss "
          f"{result.metrics['loss_vs_gatys']:.4g}; Gatys {result.gatys_seconds:.2f} s/image "
          "(the texture network's speed: benchmarks/bench_texnet.py)")


if __name__ == "__main__":
    run_stage("compare_texnet", main)
