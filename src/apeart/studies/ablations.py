"""Seed 001's ablations of Gatys NST: one change at a time from the nst params, same content and style."""
from __future__ import annotations

import dataclasses

from apeart.vgg.layers import VGG19_LAYERS
from apeart.nst.params import NstParams

ADAM_LR = 2.0  # per step, in the optimised image's units (0-255 for vgg19_caffe); Adam's step is ~lr per pixel
SGD_LR = 1.0  # on the loss scaled to ~1 per value at the start (nst/optimise.py), as L-BFGS sees it


def _added(layers: list[str], count: int) -> list[str]:
    """`layers` plus the next `count` VGG19 layers not in it (in network order)."""
    extra = [name for name in VGG19_LAYERS if name not in layers][:count]
    return sorted(layers + extra, key=VGG19_LAYERS.index)


def variants(params: NstParams) -> list[tuple[str, NstParams]]:
    """(label, params) per cell: the base, style layers +3 and -2, each other optimiser, the other pooling,
    the other backbones (the stage runs those only where their weights are cached)."""
    base = dataclasses.replace(params, style_layer_weights=[], scales=[])
    others = [o for o in ("lbfgs", "adam", "sgd") if o != base.optimizer]
    lr = {"lbfgs": 1.0, "adam": ADAM_LR, "sgd": SGD_LR}
    cells = [(f"base ({base.optimizer}, {base.pooling} pool, {base.backbone})", base),
             ("style layers +3", dataclasses.replace(base, style_layers=_added(base.style_layers, 3)))]
    if len(base.style_layers) > 2:
        cells.append(("style layers -2", dataclasses.replace(base, style_layers=base.style_layers[:-2])))
    cells += [(f"optimizer {o}", dataclasses.replace(base, optimizer=o, lr=lr[o])) for o in others]
    pooling = "avg" if base.pooling == "max" else "max"
    cells.append((f"{pooling} pooling", dataclasses.replace(base, pooling=pooling)))
    cells += [(f"backbone {b}", dataclasses.replace(base, backbone=b)) for b in ("vgg19_caffe", "vgg19", "vgg16")
              if b != base.backbone]
    return cells
