"""Load a trained generator and draw seeded style batches from it."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from apeart.core.files import write_bytes
from apeart.gan.models import Generator, to_uint8

KINDS = {"dcgan": ("DCGAN generator", "train_gan"), "vaegan": ("VAE-GAN decoder", "train_vaegan")}


class GeneratorFileError(ValueError):
    """A generator file that cannot be used: missing, unreadable, another model's, or with non-finite weights."""


def save_generator(G: Generator, nz: int, ngf: int, path: Path) -> None:
    """Save G's weights with the shape params needed to rebuild it."""
    buf = io.BytesIO()
    torch.save({"nz": nz, "ngf": ngf, "state_dict": G.state_dict()}, buf)
    write_bytes(path, buf.getvalue())


def read_generator_file(path: Path, device: torch.device, kind: str, keys: tuple[str, ...]) -> dict:
    """The payload of a `kind` ("dcgan" or "vaegan") generator file holding `keys` and finite weights;
    GeneratorFileError naming `path` and the fault otherwise."""
    name, stage = KINDS[kind]
    if not path.is_file():
        raise GeneratorFileError(f"{path}: no such file; run {stage} first")
    try:
        payload = torch.load(path, map_location=device, weights_only=True)
    except Exception as error:  # zip, pickle and weights_only errors have no common base class
        why = (str(error).splitlines() or [type(error).__name__])[0][:200]
        raise GeneratorFileError(f"{path}: unreadable, not a saved {name} ({why})") from None
    held = payload.get("kind", "dcgan") if isinstance(payload, dict) else None
    if held != kind or not all(k in payload for k in keys) or not isinstance(payload["state_dict"], dict):
        other = f" (it holds a {KINDS[held][0]})" if held in KINDS and held != kind else ""
        raise GeneratorFileError(f"{path}: not a {name} file{other}")
    state = payload["state_dict"]
    if bad := next((k for k, v in state.items() if torch.is_tensor(v) and v.is_floating_point()
                    and not torch.isfinite(v).all()), None):
        raise GeneratorFileError(f"{path}: non-finite weights (NaN or inf in {bad}); retrain with {stage}")
    return payload


def build_from_file(path: Path, make: Callable[[], nn.Module], state: dict) -> nn.Module:
    """`make()` loaded with `state` in eval mode; GeneratorFileError if the weights do not fit its shape params."""
    try:
        net = make()
        net.load_state_dict(state)
    except (TypeError, ValueError, KeyError, RuntimeError) as error:
        why = (str(error).splitlines() or [type(error).__name__])[0][:200]
        raise GeneratorFileError(f"{path}: weights do not fit the shape params saved with them ({why})") from None
    return net.eval()


def load_generator(path: Path, device: torch.device) -> tuple[Generator, int]:
    """Rebuild the generator saved by `save_generator`; returns (G in eval mode, nz)."""
    payload = read_generator_file(path, device, "dcgan", ("nz", "ngf", "state_dict"))
    G = build_from_file(path, lambda: Generator(payload["nz"], payload["ngf"]).to(device), payload["state_dict"])
    return G, payload["nz"]


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
