"""GAN progress figures: fixed-noise grids per epoch, a progress strip and GIF, a latent interpolation strip."""
from __future__ import annotations

import io

import torch
from torchvision.utils import make_grid

from apeart.core.grids import as_float, grid, to_pil
from apeart.gan.models import Generator, to_uint8


def progress_strip(grids: dict[int, torch.Tensor], samples: int = 8) -> torch.Tensor:
    """Rows = the first `samples` fixed-noise images, columns = the epochs of `grids`, left to right."""
    epochs = sorted(grids)
    tiles = [grids[e][i] for i in range(min(samples, len(grids[epochs[0]]))) for e in epochs]
    return make_grid(as_float(torch.stack(tiles)), nrow=len(epochs), padding=2, pad_value=1.0)


def progress_gif(grids: dict[int, torch.Tensor], nrow: int, frame_ms: int = 400) -> bytes:
    """An animated GIF of the fixed-noise grids, one frame per epoch, looping; the last frame held longer."""
    frames = [to_pil(grid(grids[e], nrow)) for e in sorted(grids)]
    durations = [frame_ms] * (len(frames) - 1) + [frame_ms * 5]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0)
    return buf.getvalue()


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between latent rows a and b (N, nz) at fractions t (S,) -> (N, S, nz).

    Gaussian latents concentrate near a sphere, so the straight line between two of them passes through
    atypically short vectors; slerp stays at typical norms (White 2016).
    """
    a_n, b_n = a / a.norm(dim=1, keepdim=True), b / b.norm(dim=1, keepdim=True)
    omega = torch.acos((a_n * b_n).sum(1).clamp(-1, 1))[:, None, None]  # (N, 1, 1)
    t = t[None, :, None]
    so = torch.sin(omega).clamp_min(1e-8)
    return (torch.sin((1 - t) * omega) / so) * a[:, None] + (torch.sin(t * omega) / so) * b[:, None]


@torch.no_grad()
def interpolation(G: Generator, nz: int, rows: int, steps: int, seed: int) -> torch.Tensor:
    """A uint8 grid: each row walks from one seeded latent to another in `steps` images."""
    rng = torch.Generator().manual_seed(seed)
    a, b = torch.randn(rows, nz, generator=rng), torch.randn(rows, nz, generator=rng)
    z = slerp(a, b, torch.linspace(0, 1, steps)).reshape(rows * steps, nz, 1, 1)
    device = next(G.parameters()).device
    images = to_uint8(G.eval()(z.to(device)))
    return grid(images, steps)
