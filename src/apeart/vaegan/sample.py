"""Save the VAE-GAN's decoder as a generator and load it back, for sampling like the DCGAN's."""
from __future__ import annotations

import io
from pathlib import Path

import torch
from torch import nn

from apeart.core.config import VaeganParams
from apeart.core.files import write_bytes
from apeart.vaegan.models import build_decoder


def save_decoder(Dec: nn.Module, params: VaeganParams, path: Path) -> None:
    """Save the decoder's weights with the params that rebuild it."""
    buf = io.BytesIO()
    shape = {"decoder": params.decoder, "latent": params.latent, "width": params.width, "ngf": params.ngf}
    torch.save({"kind": "vaegan", **shape, "state_dict": Dec.state_dict()}, buf)
    write_bytes(path, buf.getvalue())


def load_decoder(path: Path, device: torch.device) -> tuple[nn.Module, int]:
    """Rebuild the decoder saved by `save_decoder`: (decoder in eval mode, latent size). It takes z as
    (B, latent, 1, 1) like the DCGAN generator, so `apeart.gan.sample.sample_batches` draws from it."""
    payload = torch.load(path, map_location=device, weights_only=True)
    Dec = build_decoder(payload["decoder"], payload["latent"], payload["width"], payload["ngf"]).to(device)
    Dec.load_state_dict(payload["state_dict"])
    return Dec.eval(), payload["latent"]
