"""Load a trained generator and draw seeded style batches from it."""
from __future__ import annotations

import io
from pathlib import Path

import torch

from apeart.core.files import write_bytes
from apeart.gan.models import Generator, to_uint8


def save_generator(G: Generator, nz: int, ngf: int, path: Path) -> None:
    """Save G's weights with the shape params needed to rebuild it."""
    buf = io.BytesIO()
    torch.save({"nz": nz, "ngf": ngf, "state_dict": G.state_dict()}, buf)
    write_bytes(path, buf.getvalue())


def load_generator(path: Path, device: torch.device) -> tuple[Generator, int]:
    """Rebuild the generator saved by `save_generator`; returns (G in eval mode, nz)."""
    payload = torch.load(path, map_location=device, weights_only=True)
    G = Generator(payload["nz"], payload["ngf"]).to(device)
    G.load_state_dict(payload["state_dict"])
    return G.eval(), payload["nz"]


def sample_batches(G: Generator, nz: int, batches: int, batch_size: int, seed: int) -> list[torch.Tensor]:
    """`batches` uint8 batches (batch_size, 3, 64, 64), reproducible from `seed`."""
    rng = torch.Generator().manual_seed(seed)
    device = next(G.parameters()).device
    out = []
    with torch.no_grad():
        for _ in range(batches):
            z = torch.randn(batch_size, nz, 1, 1, generator=rng).to(device)
            out.append(to_uint8(G(z)))
    return out
