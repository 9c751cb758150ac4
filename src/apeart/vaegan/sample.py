"""Save the VAE-GAN's decoder as a generator and load it back, for sampling like the DCGAN's; the same for its
encoder (the figures' reconstructions and latent walks)."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from apeart.vaegan.params import VaeganParams
from apeart.core.checkpoint import save_checkpoint
from apeart.gan.sample import build_from_file, read_generator_file
from apeart.vaegan.models import Encoder, build_decoder


def save_decoder(Dec: nn.Module, params: VaeganParams, path: Path) -> None:
    """Save the decoder's weights with the params that rebuild it, digest-checked like a checkpoint."""
    shape = {"decoder": params.decoder, "latent": params.latent, "width": params.width, "ngf": params.ngf}
    save_checkpoint(path, {"kind": "vaegan", **shape, "state_dict": Dec.state_dict()})


def load_decoder(path: Path, device: torch.device) -> tuple[nn.Module, int]:
    """Rebuild the decoder saved by `save_decoder`: (decoder in eval mode, latent size). It takes z as
    (B, latent, 1, 1) like the DCGAN generator, so `apeart.gan.sample.sample_batches` draws from it."""
    payload = read_generator_file(path, device, "vaegan")
    shape = (payload["decoder"], payload["latent"], payload["width"], payload["ngf"])
    return build_from_file(path, lambda: build_decoder(*shape).to(device), payload["state_dict"]), payload["latent"]


def save_encoder(E: Encoder, params: VaeganParams, path: Path) -> None:
    """Save the encoder's weights with the params that rebuild it, digest-checked like a checkpoint."""
    save_checkpoint(path, {"kind": "vaegan_encoder", "latent": params.latent, "width": params.width,
                           "state_dict": E.state_dict()})


def load_encoder(path: Path, device: torch.device) -> Encoder:
    """Rebuild the encoder saved by `save_encoder`, in eval mode."""
    payload = read_generator_file(path, device, "vaegan_encoder")
    return build_from_file(path, lambda: Encoder(payload["latent"], payload["width"]).to(device), payload["state_dict"])
