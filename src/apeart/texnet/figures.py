"""The texture network's figures: the collection's contact sheet, Gatys vs texture network rows and the
test-time noise-scale row (seed 002 fig. 6)."""
from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image

from apeart.core.grids import grid, rows, tile_grid, to_pil
from apeart.nst.inputs import load_rgb
from apeart.texnet.collection import Net, stylise

SHEET = 64  # images on the contact sheet, 8 a row


def contact_sheet(files: list[Path]) -> Image.Image:
    """The first SHEET of the stylised image `files`, 8 a row."""
    return to_pil(grid(torch.stack([load_rgb(p) for p in files[:SHEET]]), nrow=8))


def comparison_rows(content: torch.Tensor, gatys: torch.Tensor, fast: torch.Tensor, size: int) -> Image.Image:
    """One row per held-out image: content | Gatys | texture network, tiles `size` px."""
    return to_pil(rows([list(content), list(gatys), list(fast)], size))


def noise_scale_row(net: Net, image: torch.Tensor, token: str, scales: list[float], seed: int,
                    device: torch.device, size: int) -> Image.Image:
    """One uint8 content image, then the network's output for it at each test-time noise scale k, labelled."""
    row = [stylise(net, image, token, k, seed, device) for k in scales]
    return tile_grid([[image.float() / 255, *row]], size, ["content"] + [f"k={k:g}" for k in scales])
