"""What a texture network trains on: the collection minus the held-out NST content set, and its style."""
from __future__ import annotations

from pathlib import Path

import torch

from apeart.core.config import NstParams, TexnetParams
from apeart.nst.inputs import style_images
from apeart.vgg.backbones import MIN_SIDE

GAN_STYLES = Path("data/styles/gan")


def training_set(names: list[str], images: torch.Tensor, held_out: set[str], limit: int) -> torch.Tensor:
    """The images whose names are not held out, the first `limit` of them (0 = all)."""
    keep = [i for i, name in enumerate(names) if name not in held_out]
    if limit:
        keep = keep[:limit]
    if not keep:
        raise ValueError("texnet: no training images left after holding out the NST content set")
    return images[keep]


def style_of(texnet: TexnetParams, nst: NstParams) -> list[torch.Tensor]:
    """texnet's style images (texnet.style_source / style_batch, or nst.style_dir), shorter side
    texnet.size x nst.style_scale."""
    side = max(MIN_SIDE, round(texnet.size * nst.style_scale))
    return style_images(texnet.style_source, texnet.style_batch, Path(nst.style_dir), side, GAN_STYLES)
