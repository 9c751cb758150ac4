"""GAN figures from a trained generator and its saved fixed-noise samples: progress grids per epoch, a progress
strip and GIF, a latent interpolation strip, real vs fake (stage gan_figures)."""
from __future__ import annotations

import io

import torch

from apeart.core.files import png_bytes
from apeart.core.grids import grid, side_by_side, to_pil
from apeart.gan.models import Generator, to_uint8
from apeart.gan.figure_params import FiguresParams


def progress_grids(samples: torch.Tensor, size: int, every: int) -> dict[int, torch.Tensor]:
    """{epoch: its first `size` samples} for epoch 0, every `every`-th, the middle and the last epoch, from
    `samples` (epochs + 1, N, 3, H, W): one batch of fixed-noise samples per epoch, 0 the untrained network."""
    last = len(samples) - 1
    return {e: samples[e, :size] for e in sorted({0, *range(every, last + 1, every), last // 2, last})}


def grid_columns(size: int) -> int:
    """Images per row of a grid of `size` images: the side of the largest square that fits."""
    return max(1, int(size ** 0.5))


def progress_strip(grids: dict[int, torch.Tensor], samples: int = 8) -> torch.Tensor:
    """Rows = the first `samples` fixed-noise images, columns = the epochs of `grids`, left to right."""
    epochs = sorted(grids)
    tiles = [grids[e][i] for i in range(min(samples, len(grids[epochs[0]]))) for e in epochs]
    return grid(torch.stack(tiles), nrow=len(epochs))


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


def figures(samples: torch.Tensor, G: Generator, nz: int, data: torch.Tensor, params: FiguresParams,
            seed: int) -> dict[str, bytes]:
    """reports/gan's files by name: the progress grids, their GIF and strip, the latent interpolation (walks
    drawn from `seed`), and the last epoch's samples beside as many real images of `data` (picked by `seed`)."""
    size = params.gan_grid_size
    grids = progress_grids(samples, size, params.gan_grid_every)
    nrow = grid_columns(size)
    out = {f"progress/epoch_{epoch:03d}.png": png_bytes(to_pil(grid(images, nrow))) for epoch, images in grids.items()}
    out["progress.gif"] = progress_gif(grids, nrow)
    out["progress_strip.png"] = png_bytes(to_pil(progress_strip(grids)))
    walk = interpolation(G, nz, rows=params.gan_walk_rows, steps=params.gan_walk_steps, seed=seed)
    out["interpolation.png"] = png_bytes(to_pil(walk))
    real = data[torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))[:size]]
    out["real_vs_fake.png"] = png_bytes(to_pil(side_by_side(real, samples[-1, :size], nrow)))
    return out
