"""Load a trained generator and draw seeded style batches from it; save and load a trainer's fixed-noise samples."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch
from torch import nn

from apeart.core.checkpoint import read_model_file, save_checkpoint
from apeart.core.errors import ApeartError
from apeart.core.memory import Need, inference_peak, layer_outputs
from apeart.gan.models import IMAGE_BYTES, Generator, to_uint8


class GeneratorFileError(ApeartError, ValueError):
    """A generator file that cannot be used: missing, damaged, non-finite, or another model's."""


def save_generator(G: Generator, nz: int, ngf: int, path: Path) -> None:
    """Save G's weights with the shape params needed to rebuild it, digest-checked like a checkpoint."""
    save_checkpoint(path, {"kind": "dcgan", "nz": nz, "ngf": ngf, "state_dict": G.state_dict()})


def read_generator_file(path: Path, device: torch.device, kind: str) -> dict:
    """The payload of a `kind` ("dcgan" or "vaegan") generator file (core.checkpoint.read_model_file)."""
    return read_model_file(path, device, kind, GeneratorFileError)


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
    payload = read_generator_file(path, device, "dcgan")
    G = build_from_file(path, lambda: Generator(payload["nz"], payload["ngf"]).to(device), payload["state_dict"])
    return G, payload["nz"]


def save_samples(samples: list[torch.Tensor], kind: str, path: Path) -> None:
    """Save a trainer's fixed-noise samples, one uint8 batch per epoch (0: the untrained network), as one
    (epochs + 1, N, 3, 64, 64) tensor of `kind` ("dcgan_samples" or "vaegan_samples"), digest-checked."""
    save_checkpoint(path, {"kind": kind, "images": torch.stack(samples)})


def load_samples(path: Path, kind: str) -> torch.Tensor:
    """The samples `save_samples` wrote, uint8 (epochs + 1, N, 3, 64, 64); GeneratorFileError if unusable."""
    return read_generator_file(path, torch.device("cpu"), kind)["images"]


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


def sampling_need(G: nn.Module, nz: int, batches: int, batch_size: int) -> Need:
    """Bytes `sample_batches` and sample_styles allocate, an upper-ish bound: on G's device the layer peak for one
    batch (core.memory.inference_peak; it also bounds `to_uint8`'s three float copies, which come after the layers'
    memory is freed); on the host every batch kept as uint8, and a grid of one batch with its PIL copy."""
    per_image = inference_peak(layer_outputs(G, torch.empty(1, nz, 1, 1, device="meta")))
    return Need(device=batch_size * per_image, host=batch_size * IMAGE_BYTES * (batches + 2))
