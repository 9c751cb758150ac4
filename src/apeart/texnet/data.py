"""What a texture network trains on: the collection minus the held-out NST content set, and its style."""
from __future__ import annotations

import json
from pathlib import Path

import torch

from apeart.core.datasets import to_tensor
from apeart.core.images import open_image, to_rgb
from apeart.nst.params import NstParams
from apeart.texnet.params import TexnetParams
from apeart.nst.inputs import style_images
from apeart.texnet.models import TexnetError
from apeart.vgg.backbones import MIN_SIDE

GAN_STYLES = Path("data/styles/gan")
HELD_OUT = Path("data/prepared/held_out.json")


def held_out_names(path: Path = HELD_OUT) -> list[str]:
    """The NST content images' token ids (prepare writes them): held out of training, used for the comparison."""
    return json.loads(path.read_text())


def held_out_images(folder: Path, path: Path = HELD_OUT) -> tuple[list[str], torch.Tensor]:
    """The held-out token ids and their images in `folder` (uint8 (N, 3, S, S)), read one file each."""
    tokens = held_out_names(path)
    return tokens, torch.stack([to_tensor(to_rgb(open_image(folder / f"{t}.png"))) for t in tokens])


def training_set(names: list[str], images: torch.Tensor, held_out: set[str], limit: int) -> torch.Tensor:
    """The images whose names are not held out, the first `limit` of them (0 = all)."""
    keep = [i for i, name in enumerate(names) if name not in held_out]
    if limit:
        keep = keep[:limit]
    if not keep:
        raise TexnetError("no training images left after holding out the NST content set (texnet.train_images, "
                          "data.limit)")
    return images[keep]


def style_of(texnet: TexnetParams, nst: NstParams) -> list[torch.Tensor]:
    """texnet's style images (texnet.style_source / style_batch, or nst.style_dir), shorter side
    texnet.size x nst.style_scale."""
    side = max(MIN_SIDE, round(texnet.size * nst.style_scale))
    try:
        return style_images(texnet.style_source, texnet.style_batch, Path(nst.style_dir), side, GAN_STYLES)
    except FileNotFoundError as error:
        raise TexnetError(str(error).replace("style_batch:", "texnet.style_batch:")) from None
