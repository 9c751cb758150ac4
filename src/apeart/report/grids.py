"""Image grids for the report: GAN progress, real vs fake, content | style | result rows."""
from __future__ import annotations

import torch
from PIL import Image
import torch.nn.functional as F
from torchvision.utils import make_grid


def as_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 or float images -> float in [0, 1]."""
    return images.float() / 255 if images.dtype == torch.uint8 else images.float().clamp(0, 1)


def grid(images: torch.Tensor, nrow: int = 8, padding: int = 2) -> torch.Tensor:
    """A (3, H, W) float grid of a (N, 3, h, w) batch."""
    return make_grid(as_float(images), nrow=nrow, padding=padding, pad_value=1.0)


def fit(image: torch.Tensor, size: int) -> torch.Tensor:
    """Resize one (3, h, w) image to (3, size, size) for side-by-side rows."""
    return F.interpolate(as_float(image)[None], size=(size, size), mode="bilinear", antialias=True,
                         align_corners=False)[0]


def side_by_side(left: torch.Tensor, right: torch.Tensor, nrow: int = 8, gap: int = 8) -> torch.Tensor:
    """Two grids next to each other with a white gap (e.g. real | fake)."""
    a, b = grid(left, nrow), grid(right, nrow)
    height = max(a.shape[1], b.shape[1])
    canvas = torch.ones(3, height, a.shape[2] + gap + b.shape[2])
    canvas[:, : a.shape[1], : a.shape[2]] = a
    canvas[:, : b.shape[1], a.shape[2] + gap :] = b
    return canvas


def rows(columns: list[list[torch.Tensor]], size: int) -> torch.Tensor:
    """A grid whose rows are the i-th image of each column list (e.g. content | style | result)."""
    tiles = [fit(col[i], size) for i in range(len(columns[0])) for col in columns]
    return make_grid(torch.stack(tiles), nrow=len(columns), padding=2, pad_value=1.0)


def to_pil(image: torch.Tensor) -> Image.Image:
    """A uint8 or float [0, 1] (3, H, W) tensor as a PIL RGB image."""
    tensor = image if image.dtype == torch.uint8 else (image.clamp(0, 1) * 255).round().to(torch.uint8)
    return Image.fromarray(tensor.permute(1, 2, 0).cpu().numpy())
