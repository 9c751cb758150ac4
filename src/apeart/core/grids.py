"""Image grids: batches as grids, side-by-side grids, rows of columns, labelled sheets.

Written here rather than taken from torchvision (`make_grid`, `pil_to_tensor` in core/datasets.py): importing
torchvision imports torch._dynamo, which doubles a stage process's start-up before it does any work; only the
Inception yardstick imports it, when its weights are cached (benchmarks/bench_startup.py).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont


def as_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 or float images -> float in [0, 1]."""
    return images.float() / 255 if images.dtype == torch.uint8 else images.float().clamp(0, 1)


def grid(images: torch.Tensor, nrow: int = 8, padding: int = 2) -> torch.Tensor:
    """A (3, H, W) float grid of a (N, 3, h, w) batch on white, `nrow` images a row (torchvision's layout)."""
    images = as_float(images)
    n, channels, h, w = images.shape
    if n == 1:
        return images[0]  # as torchvision's make_grid: one image is itself, unpadded
    columns = min(nrow, n)
    canvas = images.new_ones(channels, -(-n // columns) * (h + padding) + padding, columns * (w + padding) + padding)
    for i, image in enumerate(images):
        row, column = divmod(i, columns)
        top, left = padding + row * (h + padding), padding + column * (w + padding)
        canvas[:, top : top + h, left : left + w] = image
    return canvas


def fit(image: torch.Tensor, size: int) -> torch.Tensor:
    """Resize one (3, h, w) image to (3, size, size) for side-by-side rows."""
    return F.interpolate(as_float(image)[None], size=(size, size), mode="bilinear", antialias=True,
                         align_corners=False)[0]


def side_by_side(left: torch.Tensor, right: torch.Tensor, nrow: int = 8, gap: int = 8) -> torch.Tensor:
    """Two grids next to each other with a white gap (e.g. real | fake)."""
    a, b = grid(left, nrow), grid(right, nrow)
    height = max(a.shape[1], b.shape[1])
    canvas = a.new_ones(3, height, a.shape[2] + gap + b.shape[2])
    canvas[:, : a.shape[1], : a.shape[2]] = a
    canvas[:, : b.shape[1], a.shape[2] + gap :] = b
    return canvas


def rows(columns: list[list[torch.Tensor]], size: int) -> torch.Tensor:
    """A grid whose rows are the i-th image of each column list (e.g. content | style | result)."""
    tiles = [fit(col[i], size) for i in range(len(columns[0])) for col in columns]
    return grid(torch.stack(tiles), nrow=len(columns))


def quantize(images: torch.Tensor) -> torch.Tensor:
    """Float images clamped to [0, 1] and rounded to the 8-bit values a PNG keeps."""
    return (images.clamp(0, 1) * 255).round() / 255


def to_pil(image: torch.Tensor) -> Image.Image:
    """A uint8 or float [0, 1] (3, H, W) tensor as a PIL RGB image."""
    tensor = image if image.dtype == torch.uint8 else (quantize(image) * 255).round().to(torch.uint8)
    return Image.fromarray(tensor.permute(1, 2, 0).cpu().numpy())

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
