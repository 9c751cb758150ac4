"""VAE-GAN figures from the trained encoder and decoder and their saved fixed-noise samples: progress grids,
the last epoch's samples, real | reconstruction pairs and latent walks between real apes (stage vaegan_figures)."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from apeart.core.files import png_bytes
from apeart.core.grids import grid, to_pil
from apeart.gan.figures import grid_columns, progress_grids
from apeart.gan.models import to_uint8
from apeart.gan.figure_params import FiguresParams
from apeart.vaegan.models import Encoder

PAIRS = 32  # real | reconstruction pairs in reconstructions.png, 4 pairs a row


@torch.no_grad()
def encode(E: Encoder, images: Tensor, device: torch.device) -> Tensor:
    """The encoder's means (eval mode) for uint8 images (N, 3, 64, 64): (N, latent)."""
    E.eval()
    return E(images.to(device).float().div(127.5).sub(1))[0]


@torch.no_grad()
def reconstruct(E: Encoder, Dec: nn.Module, images: Tensor, device: torch.device) -> Tensor:
    """Dec(mu(x)) as uint8, eval mode."""
    return to_uint8(Dec.eval()(encode(E, images, device)))


@torch.no_grad()
def latent_walk(E: Encoder, Dec: nn.Module, a: Tensor, b: Tensor, steps: int, device: torch.device) -> Tensor:
    """Rows of `steps` uint8 images: Dec of the straight line from mu(a_i) to mu(b_i) (endpoints included)."""
    za, zb = encode(E, a, device), encode(E, b, device)
    t = torch.linspace(0, 1, steps, device=device)[None, :, None]
    z = (1 - t) * za[:, None] + t * zb[:, None]
    return to_uint8(Dec.eval()(z.reshape(-1, za.shape[1])))


def figures(samples: Tensor, E: Encoder, Dec: nn.Module, data: Tensor, params: FiguresParams, seed: int,
            device: torch.device) -> dict[str, bytes]:
    """reports/vaegan's files by name: the progress grids, samples.png (the last epoch's), reconstructions of
    real apes and walks between two real ones through the encoder (the apes of `data` picked by `seed`)."""
    size = params.vaegan_grid_size
    nrow = grid_columns(size)
    grids = progress_grids(samples, size, params.vaegan_grid_every)
    out = {f"progress/epoch_{epoch:03d}.png": png_bytes(to_pil(grid(images, nrow))) for epoch, images in grids.items()}
    out["samples.png"] = png_bytes(to_pil(grid(samples[-1, :size], nrow)))
    pick = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
    real = data[pick[:PAIRS]]
    recon = reconstruct(E, Dec, real, device)
    out["reconstructions.png"] = png_bytes(to_pil(grid(torch.stack([real, recon], 1).flatten(0, 1), 8)))
    rows, steps = min(params.vaegan_walk_rows, len(data) // 2), params.vaegan_walk_steps
    a, b = data[pick[-2 * rows : -rows]], data[pick[-rows:]]
    walk = latent_walk(E, Dec, a, b, steps, device)
    lines = [torch.cat([a[i : i + 1], walk[i * steps : (i + 1) * steps], b[i : i + 1]]) for i in range(rows)]
    out["latent_walk.png"] = png_bytes(to_pil(grid(torch.cat(lines), steps + 2)))
    return out
