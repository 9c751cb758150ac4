"""Batched Gatys style transfer: all content images optimised together, one VGG pass per step,
optionally coarse to fine (nst.scales)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from apeart.nst.params import NstParams
from apeart.core.grids import quantize
from apeart.nst import color
from apeart.nst.objective import Weights, as_format, build_objective, nst_weights, prepare_colors
from apeart.nst.optimise import TERMS, NSTError, memory_format, optimise, snapshot_steps
from apeart.vgg.backbones import MIN_SIDE, VGGFeatures


@dataclass
class TransferResult:
    """Final images in RGB [0, 1] (8-bit values, as saved), their per-image losses, per-step curves (step N:
    after N updates; the last row is the saved images'), timing and memory."""

    images: torch.Tensor
    content: list[float]
    style: list[float]
    tv: list[float]
    history: list[dict[str, float]] = field(default_factory=list)
    seconds_per_step: float = 0.0
    total: list[float] = field(default_factory=list)
    peak_device_mb: float = 0.0


def resize(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(…, 3, h, w) -> (…, 3, *size), antialiased when shrinking."""
    if tuple(images.shape[-2:]) == tuple(size):
        return images
    batch = images if images.dim() == 4 else images.unsqueeze(0)
    out = F.interpolate(batch, size=size, mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)
    return out if images.dim() == 4 else out[0]


def scaled_size(shape: tuple[int, int], factor: float) -> tuple[int, int]:
    """(h, w) times `factor`, the shorter side at least MIN_SIDE."""
    h, w = shape
    factor = max(factor, MIN_SIDE / min(h, w))
    return max(MIN_SIDE, round(h * factor)), max(MIN_SIDE, round(w * factor))


def _initial(net: VGGFeatures, seen_content: torch.Tensor, params: NstParams) -> torch.Tensor:
    if params.init == "content":
        return net.to_input(seen_content)
    generator = torch.Generator().manual_seed(params.seed)
    noise = torch.rand(seen_content.shape, generator=generator).to(seen_content.device)
    if params.preserve_color == "luminance":
        noise = color.gray3(color.luminance(noise))
    return net.to_input(noise)


def transfer(content: torch.Tensor, styles: list[torch.Tensor], params: NstParams, device: torch.device,
             on_snapshot: Callable[[int, torch.Tensor], None] | None = None) -> TransferResult:
    """`transfer_weighted` with nst.alpha, nst.beta and nst.tv_weight."""
    return transfer_weighted(content, styles, params, nst_weights(params), device, on_snapshot)


def transfer_weighted(
    content: torch.Tensor,
    styles: list[torch.Tensor],
    params: NstParams,
    weights: Weights,
    device: torch.device,
    on_snapshot: Callable[[int, torch.Tensor], None] | None = None,
) -> TransferResult:
    """Stylise a batch of content images (B, 3, H, W) in [0, 1] towards the blended style images.

    With nst.scales, the image is first optimised at each smaller size (shorter side) for nst.steps
    steps and upsampled; snapshots and the reported curves' last nst.steps rows belong to the full size.
    """
    if not styles:
        raise ValueError("nst: no style images")
    for name, image in [("content", content)] + [(f"style {i}", s) for i, s in enumerate(styles)]:
        if not bool(torch.isfinite(image).all()):
            raise ValueError(f"nst: the {name} image has NaN/inf pixels")
    fmt = memory_format(params, device)
    net = VGGFeatures(params.backbone, params.content_layers + params.style_layers, params.pooling).to(device)
    net = net.to(memory_format=fmt)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.cuda.reset_peak_memory_stats(device)
    content = content.to(device)
    styles = [s.to(device) for s in styles]
    full = tuple(content.shape[-2:])
    levels = [s / params.size for s in params.scales] + [1.0]
    finish_final = (lambda rgb: color.merge_luminance(rgb, content)) if params.preserve_color == "luminance" \
        else (lambda rgb: rgb)
    history: list[dict[str, float]] = []
    x = None
    seconds = []
    for level, factor in enumerate(levels):
        last_level = level == len(levels) - 1
        size = full if last_level else scaled_size(full, factor)
        level_content = resize(content, size)
        level_styles = [resize(s, scaled_size(tuple(s.shape[-2:]), factor)) for s in styles]
        objective = build_objective(net, level_content, level_styles, params, weights, fmt)
        if x is None:
            x0 = _initial(net, prepare_colors(level_content, [], params.preserve_color)[0], params)
        else:
            x0 = net.to_input(resize(net.to_rgb01(x), size))
        offset = level * params.steps
        x, rows, secs = optimise(
            objective, x0, params, params.steps, fmt,
            on_snapshot=on_snapshot if last_level else None,
            snaps=set(snapshot_steps(params.steps, params.snapshots)) if last_level else set(),
            step_offset=offset, finish=finish_final if last_level else None,
            progress="stylize" if len(levels) == 1 else f"stylize {size[0]}x{size[1]}")
        history += rows
        seconds.append(secs)
    # The final losses (and the curve's last row) are those of the images as saved: 8-bit, as a reader
    # who recomputes them from the PNGs gets them.
    images = quantize(finish_final(net.to_rgb01(x)))
    with torch.no_grad():
        seen = prepare_colors(images, [], params.preserve_color)[0]
        final = objective(as_format(net.to_input(seen), fmt))
    steps = len(history)
    for term in ("content", "style", "tv", "total"):
        if not bool(torch.isfinite(final[term]).all()):
            raise NSTError(f"NaN/inf {term} loss at the end (step {steps}). Lower nst.lr or nst.beta.", steps, term)
    history.append({"step": steps, **{term: float(final[term].mean()) for term in TERMS}})
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else 0.0
    return TransferResult(
        images=images.cpu(),
        content=final["content"].cpu().tolist(),
        style=final["style"].cpu().tolist(),
        tv=final["tv"].cpu().tolist(),
        history=history,
        seconds_per_step=sum(seconds) / len(seconds),
        total=final["total"].cpu().tolist(),
        peak_device_mb=peak,
    )
