"""DiffAugment (Zhao et al. 2020): differentiable augmentations applied to real and fake images before D.

Every random number comes from the caller's CPU `torch.Generator` (so a checkpointed RNG state makes a
run resume exactly) and is moved to the images' device without a host sync. Shifts are batched matmuls
with 0/1 shift matrices and cutouts are multiplicative masks: no scatter/gather, so the backward pass is
deterministic on CPU and CUDA alike.
"""
from __future__ import annotations

import torch
from torch import Tensor

TRANSLATION_RATIO = 0.125  # paper: shift by up to 1/8 of the image size, zero (mid-grey) padding
CUTOUT_RATIO = 0.5  # paper: erase a square of half the image size


def _uniform(x: Tensor, rng: torch.Generator) -> Tensor:
    """One U[0, 1) value per image, shaped (B, 1, 1, 1), on x's device and dtype."""
    return torch.rand(x.shape[0], 1, 1, 1, generator=rng).to(x.device, x.dtype, non_blocking=True)


def _randint(low: int, high: int, n: int, rng: torch.Generator, device: torch.device) -> Tensor:
    return torch.randint(low, high, (n,), generator=rng).to(device, non_blocking=True)


def color(x: Tensor, rng: torch.Generator) -> Tensor:
    """Random brightness, saturation and contrast per image."""
    x = x + (_uniform(x, rng) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_uniform(x, rng) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_uniform(x, rng) + 0.5) + mean


def _shift_matrices(shift: Tensor, size: int, dtype: torch.dtype) -> Tensor:
    """(B, size, size) 0/1 matrices M with (M @ v)[i] = v[i + shift] (zero outside the image)."""
    ar = torch.arange(size, device=shift.device)
    return (ar[None, None, :] == ar[None, :, None] + shift[:, None, None]).to(dtype)


def translation(x: Tensor, rng: torch.Generator, ratio: float = TRANSLATION_RATIO) -> Tensor:
    """Shift each image by up to `ratio` of its size in y and x, padding with zeros."""
    b, _, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    ty = _randint(-sy, sy + 1, b, rng, x.device)
    tx = _randint(-sx, sx + 1, b, rng, x.device)
    rows = _shift_matrices(ty, h, x.dtype)[:, None]  # (B, 1, H, H)
    cols = _shift_matrices(tx, w, x.dtype)[:, None].transpose(-1, -2)  # (B, 1, W, W)
    return rows @ x @ cols


def cutout(x: Tensor, rng: torch.Generator, ratio: float = CUTOUT_RATIO) -> Tensor:
    """Zero a square of `ratio` x the image size at a random centre (clipped at the borders)."""
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    oy = _randint(0, h + (1 - ch % 2), b, rng, x.device)[:, None] - ch // 2
    ox = _randint(0, w + (1 - cw % 2), b, rng, x.device)[:, None] - cw // 2
    ry, rx = torch.arange(h, device=x.device)[None], torch.arange(w, device=x.device)[None]
    inside_y = (ry >= oy) & (ry < oy + ch)  # (B, H)
    inside_x = (rx >= ox) & (rx < ox + cw)  # (B, W)
    keep = ~(inside_y[:, :, None] & inside_x[:, None, :])
    return x * keep[:, None].to(x.dtype)


# One per name of apeart.core.config.DIFFAUGMENT_POLICIES (which validates params before any work).
FUNCTIONS = {"color": color, "translation": translation, "cutout": cutout}


def diff_augment(x: Tensor, policy: tuple[str, ...], rng: torch.Generator) -> Tensor:
    """Apply the augmentations of `policy` in order (identity for an empty policy)."""
    for name in policy:
        x = FUNCTIONS[name](x, rng)
    return x
