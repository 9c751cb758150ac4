"""The Gatys objective: per-image content, style and TV losses towards content features and blended style Grams."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from apeart.core.config import ParamsError
from apeart.nst.params import NstParams
from apeart.nst import color
from apeart.nst.losses import Convention, StyleTarget, content_loss, gram, style_loss, tv_loss
from apeart.vgg.backbones import VGGFeatures


def layer_weights(params: NstParams) -> list[float]:
    """Per style layer weights; equal weights summing to 1 unless given."""
    if params.style_layer_weights:
        return list(params.style_layer_weights)
    return [1.0 / len(params.style_layers)] * len(params.style_layers)


def blend_weights(params: NstParams, count: int) -> torch.Tensor:
    """Blend weights of `count` style images, normalised to sum 1 (equal unless nst.style_blend_weights)."""
    if not params.style_blend_weights:
        return torch.full((count,), 1.0 / count)
    if len(params.style_blend_weights) != count:
        raise ParamsError(f"nst.style_blend_weights: {len(params.style_blend_weights)} weights for {count} style "
                         "images; give one per style image (sorted by file name) or an empty list")
    w = torch.tensor(params.style_blend_weights, dtype=torch.float32)
    return w / w.sum()


@dataclass(frozen=True)
class Weights:
    """The weights of the total loss: alpha x content + beta x style + tv x total variation."""

    alpha: float
    beta: float
    tv: float


def nst_weights(params: NstParams) -> Weights:
    """nst.alpha, nst.beta and nst.tv_weight."""
    return Weights(params.alpha, params.beta, params.tv_weight)


class Objective:
    """Per-image content, style and TV losses of `x` (network input space), weighted per image and layer.

    content_weights (B, Lc) and style_weights (B, Ls) weight each layer's term per image; `alpha`,
    `beta` and `tv_weight` (floats or (B,) tensors) weight the terms in the total.
    """

    def __init__(self, net: VGGFeatures, content_targets: dict[str, torch.Tensor],
                 style_targets: dict[str, StyleTarget], content_weights: torch.Tensor,
                 style_weights: torch.Tensor, alpha, beta, tv_weight: float, gram_norm: str) -> None:
        self.net, self.gram_norm = net, gram_norm
        self.content_targets, self.style_targets = content_targets, style_targets
        self.content_weights, self.style_weights = content_weights, style_weights
        self.alpha, self.beta, self.tv_weight = alpha, beta, tv_weight

    def __call__(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        feats = self.net(x)
        batch = x.shape[0]
        convention = convention_of(self.net, self.gram_norm, x)
        content = x.new_zeros(batch)
        for j, (name, target) in enumerate(self.content_targets.items()):
            content = content + self.content_weights[:, j] * content_loss(feats[name], target, convention)
        style = x.new_zeros(batch)
        for j, (name, target) in enumerate(self.style_targets.items()):
            style = style + self.style_weights[:, j] * style_loss(feats[name], target, convention)
        if self.tv_weight > 0:
            tv = tv_loss(x) * convention.tv_factor()
        else:  # reported, not optimised
            with torch.no_grad():
                tv = tv_loss(x.detach()) * convention.tv_factor()
        total = self.alpha * content + self.beta * style + self.tv_weight * tv
        return {"total": total, "content": content, "style": style, "tv": tv}


def convention_of(net: VGGFeatures, gram_norm: str, x: torch.Tensor) -> Convention:
    """The loss convention for network input `x` (its size sets sum356's area ratio)."""
    return Convention.of(gram_norm, net.feature_scale, x.shape[-2], x.shape[-1])


def as_format(x: torch.Tensor, fmt: torch.memory_format) -> torch.Tensor:
    return x.contiguous(memory_format=fmt)


@torch.no_grad()
def style_grams(net: VGGFeatures, styles: list[torch.Tensor], layers: list[str], gram_norm: str,
                fmt: torch.memory_format) -> dict[str, torch.Tensor]:
    """Gram matrices (K, C, C) per layer of K style images (one pass each: sizes may differ)."""
    grams: dict[str, list[torch.Tensor]] = {name: [] for name in layers}
    for style in styles:
        x = as_format(net.to_input(style.unsqueeze(0)), fmt)
        feats, convention = net(x), convention_of(net, gram_norm, x)
        for name in layers:
            grams[name].append(gram(feats[name], convention)[0])
    return {name: torch.stack(g) for name, g in grams.items()}


def prepare_colors(content: torch.Tensor, styles: list[torch.Tensor], mode: str
                    ) -> tuple[torch.Tensor, list[list[torch.Tensor]] | list[torch.Tensor]]:
    """The content the network sees and the style images: shared (list) or per content image (list of lists)."""
    if mode == "none":
        return content, styles
    if mode == "luminance":
        gray = color.gray3(color.luminance(content))
        return gray, [[color.match_luminance(s, c) for s in styles] for c in content]
    return content, [[color.match_colors(s, c) for s in styles] for c in content]


def blended_styles(net: VGGFeatures, styles: list[torch.Tensor] | list[list[torch.Tensor]], params: NstParams,
                  fmt: torch.memory_format = torch.contiguous_format) -> dict[str, StyleTarget]:
    """Blended style Gram targets per style layer: shared by the batch (a list of style images) or one per
    content image (a list of such lists, from `prepare_colors`)."""
    if styles and isinstance(styles[0], list):
        weights = blend_weights(params, len(styles[0]))
        grams = [style_grams(net, s, params.style_layers, params.gram_norm, fmt) for s in styles]
        return {n: StyleTarget.from_grams(torch.stack([g[n] for g in grams]), weights.to(grams[0][n].device))
                for n in params.style_layers}
    weights = blend_weights(params, len(styles))
    grams1 = style_grams(net, styles, params.style_layers, params.gram_norm, fmt)
    return {n: StyleTarget.from_grams(g, weights.to(g.device)) for n, g in grams1.items()}


@torch.no_grad()
def content_features(net: VGGFeatures, seen: torch.Tensor, params: NstParams,
                    fmt: torch.memory_format = torch.contiguous_format) -> dict[str, torch.Tensor]:
    """Content features per content layer of a batch as the network sees it (RGB [0, 1])."""
    feats = net(as_format(net.to_input(seen), fmt))
    return {name: feats[name] for name in params.content_layers}


def objective_for(net: VGGFeatures, targets: dict[str, torch.Tensor], styles: dict[str, StyleTarget],
                  params: NstParams, weights: Weights, batch: int) -> Objective:
    """The objective of a batch's content targets and style targets with equal content-layer weights."""
    device = next(net.parameters()).device
    cw = torch.ones(batch, len(params.content_layers), device=device)
    sw = torch.tensor(layer_weights(params), device=device).expand(batch, -1)
    return Objective(net, targets, styles, cw, sw, weights.alpha, weights.beta, weights.tv, params.gram_norm)


def build_objective(net: VGGFeatures, content: torch.Tensor, styles: list[torch.Tensor], params: NstParams,
                    weights: Weights, fmt: torch.memory_format = torch.contiguous_format) -> Objective:
    """The Gatys objective of `params` for a content batch (B, 3, H, W) and style images, all RGB [0, 1]."""
    seen, per_image = prepare_colors(content, styles, params.preserve_color)
    targets = content_features(net, seen, params, fmt)
    return objective_for(net, targets, blended_styles(net, per_image, params, fmt), params, weights, len(content))
