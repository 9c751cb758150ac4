"""Gatys vs the texture network on the held-out NST content images: same style, size and loss code."""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import torch

from apeart.nst.params import NstParams
from apeart.texnet.params import TexnetParams
from apeart.nst.transfer import transfer_weighted
from apeart.texnet.train import Loss, loss_params, weights_of

# The Gatys reference is the stylize stage's default optimisation, fixed: the comparison cannot be won by
# weakening it through nst params.
GATYS = {"optimizer": "lbfgs", "steps": 60, "lr": 1.0, "init": "content", "scales": []}


@dataclass
class Comparison:
    """Gatys' images (RGB [0, 1], 8-bit values, as saved), the held-out metrics and Gatys' seconds per image."""

    gatys: torch.Tensor
    metrics: dict
    gatys_seconds: float


def _losses(loss: Loss, content: torch.Tensor, images: torch.Tensor, device: torch.device) -> dict[str, float]:
    """Batch-mean content, style and total loss of `images` (RGB [0, 1]) for `content`."""
    with torch.no_grad():
        values = loss(content.to(device), images.to(device))
    return {t: float(values[t].mean()) for t in ("content", "style", "total")}


def compare(content: torch.Tensor, fast: torch.Tensor, styles: list[torch.Tensor], nst: NstParams,
            texnet: TexnetParams, device: torch.device) -> Comparison:
    """Gatys (GATYS) on `content` and the texture network's `fast` images of it (RGB [0, 1]), scored by one loss."""
    start = time.perf_counter()
    gatys = transfer_weighted(content, styles, dataclasses.replace(loss_params(nst, texnet), **GATYS),
                              weights_of(texnet), device).images
    seconds = (time.perf_counter() - start) / len(content)
    loss = Loss(nst, texnet, styles, device)
    fast_loss, gatys_loss = _losses(loss, content, fast, device), _losses(loss, content, gatys, device)
    return Comparison(gatys, {
        "loss_vs_gatys": fast_loss["total"] / gatys_loss["total"],  # the texture network's total loss / Gatys'
        "loss_convention": nst.gram_norm,  # the units of every texnet loss (held out and training)
        "held_out": {**{f"{t}_loss": v for t, v in fast_loss.items()},
                     **{f"gatys_{t}_loss": v for t, v in gatys_loss.items()}}}, seconds)
