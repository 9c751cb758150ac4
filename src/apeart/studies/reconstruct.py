"""Gatys et al. 2016 fig. 1 / seed 001: what each layer keeps, by synthesis from white noise.

Style reconstructions match only the Gram matrices of a growing prefix of the style layers (conv1_1;
conv1_1 + conv2_1; ...); content reconstructions match only the features of one layer each. All rows
are optimised together in one batch (one network pass per step), each image with its own layer
weights and its own loss scale.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from apeart.nst.params import NstParams
from apeart.nst.losses import StyleTarget
from apeart.nst.objective import Objective, as_format, style_grams
from apeart.nst.optimise import memory_format, optimise
from apeart.nst.transfer import resize, scaled_size
from apeart.vgg.backbones import VGGFeatures


@dataclass
class Reconstruction:
    style_images: torch.Tensor  # (Ls, 3, S, S): row i matches style layers [: i + 1]
    style_labels: list[str]
    content_images: torch.Tensor  # (Lc, 3, S, S): row j matches content layer j
    content_labels: list[str]
    losses: list[dict[str, float]]
    seconds_per_step: float


def reconstruct(content: torch.Tensor, style: torch.Tensor, params: NstParams, device: torch.device) -> Reconstruction:
    """Style (per layer prefix) and content (per layer) reconstructions of one content (3, H, W) and one
    style (3, h, w) image at nst.reconstruct_size (at most the content's size), from the same white
    noise, in nst.reconstruct_steps steps of nst.optimizer."""
    size = min(params.reconstruct_size, min(content.shape[-2:]))  # never above the content's own size
    style_layers, content_layers = list(params.style_layers), list(params.reconstruct_content_layers)
    fmt = memory_format(params, device)
    net = VGGFeatures(params.backbone, list(dict.fromkeys(content_layers + style_layers)), params.pooling)
    net = net.to(device).to(memory_format=fmt)
    content = resize(content.to(device), (size, size))
    style = resize(style.to(device), scaled_size(tuple(style.shape[-2:]), size / min(style.shape[-2:])))
    n_style, n_content = len(style_layers), len(content_layers)
    batch = n_style + n_content
    with torch.no_grad():
        feats = net(as_format(net.to_input(content[None]), fmt))
        content_targets = {name: feats[name] for name in content_layers}  # (1, ...) broadcast over the batch
        grams = style_grams(net, [style], style_layers, params.gram_norm, fmt)
        style_targets = {name: StyleTarget.from_grams(g) for name, g in grams.items()}
    sw = torch.zeros(batch, n_style, device=device)
    for i in range(n_style):
        sw[i, : i + 1] = 1.0 / (i + 1)
    cw = torch.zeros(batch, n_content, device=device)
    for j in range(n_content):
        cw[n_style + j, j] = 1.0
    objective = Objective(net, content_targets, style_targets, cw, sw, 1.0, 1.0, 0.0, params.gram_norm)
    generator = torch.Generator().manual_seed(params.seed)
    noise = torch.rand(1, 3, size, size, generator=generator).expand(batch, -1, -1, -1).to(device)
    x, _history, seconds = optimise(objective, net.to_input(noise), params, params.reconstruct_steps, fmt,
                                   progress="reconstruct", per_image_scale=True)
    with torch.no_grad():
        final = objective(as_format(x, fmt))
    images = net.to_rgb01(x).cpu()
    losses = [{"content": float(c), "style": float(s)} for c, s in zip(final["content"], final["style"])]
    return Reconstruction(
        style_images=images[:n_style],
        style_labels=["+".join(style_layers[: i + 1]) if i == 0 else f"+{style_layers[i]}" for i in range(n_style)],
        content_images=images[n_style:],
        content_labels=content_layers,
        losses=losses,
        seconds_per_step=seconds,
    )
