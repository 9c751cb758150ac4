"""Stage texnet_figures: the stylised collection's contact sheet, content | Gatys | texture network on the
held-out images, and one held-out image at each test-time noise scale (seed 002 fig. 6)."""
from __future__ import annotations

from pathlib import Path

import torch

from apeart.core.cli import run_stage
from apeart.core.config import load_section
from apeart.core.datasets import png_files
from apeart.core.files import save_png
from apeart.core.runtime import deterministic, resolve_device
from apeart.nst.inputs import load_rgb
from apeart.texnet.collection import load_model
from apeart.texnet.data import held_out_images
from apeart.texnet.figures import comparison_rows, contact_sheet, noise_scale_row
from apeart.texnet.params import TexnetParams

STYLIZED, GATYS, FIG = Path("data/stylized"), Path("reports/texnet/gatys"), Path("reports/texnet")


def main() -> None:
    texnet = load_section(TexnetParams)
    deterministic(texnet.seed)
    device = resolve_device(texnet.device)
    tokens, held = held_out_images(Path("data/prepared/texnet"))
    save_png(contact_sheet(png_files(STYLIZED)), FIG / "contact_sheet.png")
    fast, gatys = (torch.stack([load_rgb(folder / f"{t}.png") for t in tokens]) for folder in (STYLIZED, GATYS))
    save_png(comparison_rows(held, gatys, fast, texnet.size), FIG / "comparison.png")
    net = load_model(Path("models/texnet/texnet.pt"), device)
    save_png(noise_scale_row(net, held[0], tokens[0], texnet.noise_scales, texnet.seed, device, texnet.size),
             FIG / "noise_scales.png")
    print(f"texnet_figures: {FIG}/contact_sheet.png, comparison.png, noise_scales.png")


if __name__ == "__main__":
    run_stage("texnet_figures", main)
