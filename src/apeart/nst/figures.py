"""Labelled tile grids for the NST experiment figures (beta sweeps, reconstructions)."""
from __future__ import annotations

import math

import torch
from PIL import Image, ImageDraw, ImageFont

from apeart.report.grids import fit, grid, to_pil

PAD = 4
LABEL_H = 14
MIN_TILE = 96  # labels of ~15 characters fit


def tile_grid(rows: list[list[torch.Tensor]], tile: int, col_labels: list[str] | None = None,
              row_labels: list[str] | None = None) -> Image.Image:
    """A white sheet of (3, h, w) RGB [0, 1] tiles resized to `tile` px (>= MIN_TILE), one list per row, labelled."""
    tile = max(tile, MIN_TILE)
    n_cols = max(len(r) for r in rows)
    font = ImageFont.load_default()
    left = 0
    if row_labels:
        left = max(int(ImageDraw.Draw(Image.new("RGB", (1, 1))).textlength(t, font=font)) for t in row_labels) + PAD
    top = LABEL_H if col_labels else 0
    width = left + n_cols * (tile + PAD) + PAD
    height = top + len(rows) * (tile + PAD) + PAD
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for c, label in enumerate(col_labels or []):
        draw.text((left + PAD + c * (tile + PAD), 1), label, fill=(0, 0, 0), font=font)
    for r, row in enumerate(rows):
        y = top + PAD + r * (tile + PAD)
        if row_labels:
            draw.text((PAD // 2, y + tile // 2 - 5), row_labels[r], fill=(0, 0, 0), font=font)
        for c, image in enumerate(row):
            sheet.paste(to_pil(fit(image, tile)), (left + PAD + c * (tile + PAD), y))
    return sheet


def square(image: torch.Tensor) -> torch.Tensor:
    """Centre square crop of a (3, h, w) image (for a style tile)."""
    h, w = image.shape[-2:]
    side = min(h, w)
    top, lft = (h - side) // 2, (w - side) // 2
    return image[..., top : top + side, lft : lft + side]


def style_tile(styles: list[torch.Tensor], size: int) -> torch.Tensor:
    """The style images, centre-cropped to squares, as one square (3, H, W) tile of a near-square grid."""
    return grid(torch.stack([fit(square(s), size) for s in styles]), nrow=math.ceil(len(styles) ** 0.5))


def format_beta(beta: float) -> str:
    """1e-05 -> '1e-05', 1000.0 -> '1000': the spelling used in labels and folder names."""
    return f"{beta:g}"
