"""Batched Gatys style transfer: all content images optimised together, one VGG pass per step.

The loop queues device work only: per-step losses go into a device buffer that is read back every
`CHECK_EVERY` steps, at snapshots and at the end (where NaN/inf is detected and reported by step and
term), L-BFGS is the synchronisation-free `apeart.nst.lbfgs.LBFGS`, and on the CPU the network and the
optimised image run channels_last (oneDNN's fast layout).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from apeart.config import NstParams
from apeart.nst import color
from apeart.nst.backbones import MIN_SIDE, VGGFeatures
from apeart.nst.lbfgs import LBFGS
from apeart.nst.losses import StyleTarget, content_loss, gram, style_loss, tv_loss
from apeart.progress import progress as progress_bar

TERMS = ("total", "content", "style", "tv")
CHECK_EVERY = 10  # steps between NaN/inf checks (each reads a few floats back from the device)


class NSTError(RuntimeError):
    """The optimisation diverged (NaN or inf loss); `last_good` holds the last checked finite images."""

    def __init__(self, message: str, step: int = 0, term: str = "", last_good: torch.Tensor | None = None,
                 last_good_step: int = 0) -> None:
        super().__init__(message)
        self.step, self.term, self.last_good, self.last_good_step = step, term, last_good, last_good_step


@dataclass
class TransferResult:
    """Final images in RGB [0, 1], per-image final losses, per-step curves, timing and memory."""

    images: torch.Tensor
    content: list[float]
    style: list[float]
    tv: list[float]
    history: list[dict[str, float]] = field(default_factory=list)
    seconds_per_step: float = 0.0
    total: list[float] = field(default_factory=list)
    peak_device_mb: float = 0.0


def snapshot_steps(steps: int, count: int) -> list[int]:
    """`count` steps spread from 0 (the initial image) to `steps` (the result)."""
    if count == 1:
        return [steps]
    return sorted({round(i * steps / (count - 1)) for i in range(count)})


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
        raise ValueError(f"nst.style_blend_weights: {len(params.style_blend_weights)} weights for {count} style "
                         "images; give one per style image (sorted by file name) or an empty list")
    w = torch.tensor(params.style_blend_weights, dtype=torch.float32)
    return w / w.sum()


def memory_format(params: NstParams, device: torch.device) -> torch.memory_format:
    """nst.memory_format; `auto` is channels_last on the CPU (measured faster there), NCHW elsewhere."""
    if params.memory_format == "auto":
        return torch.channels_last if device.type == "cpu" else torch.contiguous_format
    return torch.channels_last if params.memory_format == "channels_last" else torch.contiguous_format


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


def _optimizer(params: NstParams, x: torch.Tensor):
    if params.optimizer == "lbfgs":
        return LBFGS(x, lr=params.lr, history_size=50)
    if params.optimizer == "sgd":
        return torch.optim.SGD([x], lr=params.lr, momentum=params.momentum)
    return torch.optim.Adam([x], lr=params.lr)


class Objective:
    """Per-image content, style and TV losses of `x` (network input space), weighted per image and layer.

    content_weights (B, Lc) and style_weights (B, Ls) weight each layer's term per image; `alpha`,
    `beta` and `tv_weight` (floats or (B,) tensors) weight the terms in the total.
    """

    def __init__(self, net: VGGFeatures, content_targets: dict[str, torch.Tensor],
                 style_targets: dict[str, StyleTarget], content_weights: torch.Tensor,
                 style_weights: torch.Tensor, alpha, beta, tv_weight: float, normalize: bool) -> None:
        self.net, self.normalize = net, normalize
        self.content_targets, self.style_targets = content_targets, style_targets
        self.content_weights, self.style_weights = content_weights, style_weights
        self.alpha, self.beta, self.tv_weight = alpha, beta, tv_weight

    def __call__(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        feats = self.net(x)
        batch = x.shape[0]
        content = x.new_zeros(batch)
        for j, (name, target) in enumerate(self.content_targets.items()):
            content = content + self.content_weights[:, j] * content_loss(feats[name], target)
        style = x.new_zeros(batch)
        for j, (name, target) in enumerate(self.style_targets.items()):
            style = style + self.style_weights[:, j] * style_loss(feats[name], target, self.normalize)
        if self.tv_weight > 0:
            tv = tv_loss(x)
        else:  # reported, not optimised
            with torch.no_grad():
                tv = tv_loss(x.detach())
        total = self.alpha * content + self.beta * style + self.tv_weight * tv
        return {"total": total, "content": content, "style": style, "tv": tv}


def as_format(x: torch.Tensor, fmt: torch.memory_format) -> torch.Tensor:
    return x.contiguous(memory_format=fmt)


@torch.no_grad()
def style_grams(net: VGGFeatures, styles: list[torch.Tensor], layers: list[str], normalize: bool,
                fmt: torch.memory_format) -> dict[str, torch.Tensor]:
    """Gram matrices (K, C, C) per layer of K style images (one pass each: sizes may differ)."""
    grams: dict[str, list[torch.Tensor]] = {name: [] for name in layers}
    for style in styles:
        feats = net(as_format(net.to_input(style.unsqueeze(0)), fmt))
        for name in layers:
            grams[name].append(gram(feats[name], normalize)[0])
    return {name: torch.stack(g) for name, g in grams.items()}


def _prepare_colors(content: torch.Tensor, styles: list[torch.Tensor], mode: str
                    ) -> tuple[torch.Tensor, list[list[torch.Tensor]] | list[torch.Tensor]]:
    """The content the network sees and the style images: shared (list) or per content image (list of lists)."""
    if mode == "none":
        return content, styles
    if mode == "luminance":
        gray = color.gray3(color.luminance(content))
        return gray, [[color.match_luminance(s, c) for s in styles] for c in content]
    return content, [[color.match_colors(s, c) for s in styles] for c in content]


def build_objective(net: VGGFeatures, content: torch.Tensor, styles: list[torch.Tensor], params: NstParams,
                    fmt: torch.memory_format = torch.contiguous_format) -> Objective:
    """The Gatys objective of `params` for a content batch (B, 3, H, W) and style images, all RGB [0, 1]."""
    normalize = params.gram_norm == "gatys"
    batch = content.shape[0]
    content, per_image = _prepare_colors(content, styles, params.preserve_color)
    weights = blend_weights(params, len(styles)).to(content.device)
    with torch.no_grad():
        feats = net(as_format(net.to_input(content), fmt))
        content_targets = {name: feats[name] for name in params.content_layers}
        if per_image and isinstance(per_image[0], list):  # one style target per content image
            grams = [style_grams(net, s, params.style_layers, normalize, fmt) for s in per_image]
            style_targets = {n: StyleTarget.from_grams(torch.stack([g[n] for g in grams]), weights)
                             for n in params.style_layers}
        else:
            grams1 = style_grams(net, per_image, params.style_layers, normalize, fmt)
            style_targets = {n: StyleTarget.from_grams(g, weights) for n, g in grams1.items()}
    device = content.device
    cw = torch.ones(batch, len(params.content_layers), device=device)
    sw = torch.tensor(layer_weights(params), device=device).expand(batch, -1)
    return Objective(net, content_targets, style_targets, cw, sw, params.alpha, params.beta, params.tv_weight,
                     normalize)


class _Layout:
    """The optimised tensor: NHWC storage for channels_last (a contiguous leaf the optimisers can flatten)."""

    def __init__(self, fmt: torch.memory_format) -> None:
        self.channels_last = fmt == torch.channels_last

    def leaf(self, x: torch.Tensor) -> torch.Tensor:
        leaf = x.permute(0, 2, 3, 1) if self.channels_last else x
        return leaf.detach().contiguous().clone().requires_grad_(True)

    def view(self, leaf: torch.Tensor) -> torch.Tensor:
        return leaf.permute(0, 3, 1, 2) if self.channels_last else leaf


def _first_bad(buffer: torch.Tensor, first_step: int) -> tuple[int, str] | None:
    """(step, term) of the first non-finite loss in rows of `buffer` (steps first_step...), else None."""
    bad = ~torch.isfinite(buffer)
    if not bool(bad.any()):
        return None
    row = int(bad.any(dim=1).nonzero()[0, 0])
    order = [TERMS.index(t) for t in ("content", "style", "tv", "total")]
    term = next(TERMS[i] for i in order if bool(bad[row, i]))
    return first_step + row, term


def optimise(objective: Objective, x0: torch.Tensor, params: NstParams, steps: int,
             fmt: torch.memory_format = torch.contiguous_format,
             on_snapshot: Callable[[int, torch.Tensor], None] | None = None,
             snaps: set[int] | None = None, step_offset: int = 0,
             finish: Callable[[torch.Tensor], torch.Tensor] | None = None,
             progress: str = "stylize", per_image_scale: bool = False) -> tuple[torch.Tensor, list[dict[str, float]], float]:
    """Minimise `objective` from `x0` (input space) for `steps` steps.

    Returns the final x (input space, NCHW shape in `fmt`'s layout), the per-step batch-mean curves and
    seconds per step (snapshot callbacks excluded). `snaps` are steps of this run (0 = x0) passed to
    `on_snapshot` through `finish` (RGB [0, 1] -> what snapshots show); `step_offset` only renumbers
    the curves and error messages.
    """
    net = objective.net
    layout = _Layout(fmt)
    leaf = layout.leaf(x0)
    optimizer = _optimizer(params, leaf)
    snaps = snaps or set()
    finish = finish or (lambda rgb: rgb)
    per_image = leaf[0].numel()
    buffer = torch.zeros(steps, len(TERMS), device=leaf.device)
    state: dict[str, torch.Tensor | dict] = {}
    lbfgs = isinstance(optimizer, LBFGS)

    def closure() -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        losses = objective(layout.view(leaf))
        if "scale" not in state:
            # Gatys' losses on 0-255 Caffe features reach ~1e13, where float32 L-BFGS overflows, while a
            # loss scaled to ~1 falls under its curvature threshold (ys > 1e-10). The objective is scaled to
            # one unit per optimised value at the start (the batch's, or with `per_image_scale` each
            # image's: for batches of unlike problems); reported losses stay unscaled.
            total = losses["total"].detach()
            state["scale"] = (total.clamp_min(1e-12) / per_image if per_image_scale
                              else total.sum().clamp_min(1e-12) / leaf.numel())
        loss = (losses["total"] / state["scale"]).sum()
        loss.backward()
        state["last"] = losses
        return loss

    def snapshot(step: int, x: torch.Tensor) -> None:
        if on_snapshot and step in snaps:
            on_snapshot(step, finish(net.to_rgb01(x)))

    good, good_step, checked = leaf.detach().clone(), 0, 0
    callback_seconds = 0.0
    t0 = time.perf_counter()
    snapshot(0, layout.view(good))
    callback_seconds += time.perf_counter() - t0
    start = time.perf_counter()
    for step in progress_bar(range(1, steps + 1), desc=progress, unit="step"):
        if lbfgs:
            optimizer.step(closure)
        else:
            closure()
            optimizer.step()
        last = state["last"]
        buffer[step - 1] = torch.stack([last[t].detach().mean() for t in TERMS])
        if step % CHECK_EVERY and step != steps and step not in snaps:
            continue
        found = _first_bad(buffer[checked:step], checked + 1)
        if found is None and not bool(torch.isfinite(leaf).all()):
            found = (step, "image")
        if found:
            bad_step, term = found
            images = finish(net.to_rgb01(layout.view(good))).cpu()
            raise NSTError(
                f"NaN/inf {term} loss at step {bad_step + step_offset}; last good snapshot (step "
                f"{good_step + step_offset}) kept. Lower nst.lr or nst.beta.",
                bad_step + step_offset, term, images, good_step + step_offset)
        checked, good_step = step, step
        good = leaf.detach().clone()
        t0 = time.perf_counter()
        snapshot(step, layout.view(good))
        callback_seconds += time.perf_counter() - t0
    if leaf.device.type == "cuda":
        torch.cuda.synchronize(leaf.device)
    seconds = (time.perf_counter() - start - callback_seconds) / steps
    rows = buffer.cpu().tolist()
    history = [{"step": i + 1 + step_offset, **dict(zip(TERMS, row))} for i, row in enumerate(rows)]
    return layout.view(leaf.detach()), history, seconds


def _initial(net: VGGFeatures, seen_content: torch.Tensor, params: NstParams) -> torch.Tensor:
    if params.init == "content":
        return net.to_input(seen_content)
    generator = torch.Generator().manual_seed(params.seed)
    noise = torch.rand(seen_content.shape, generator=generator).to(seen_content.device)
    if params.preserve_color == "luminance":
        noise = color.gray3(color.luminance(noise))
    return net.to_input(noise)


def transfer(
    content: torch.Tensor,
    styles: list[torch.Tensor],
    params: NstParams,
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
        objective = build_objective(net, level_content, level_styles, params, fmt)
        if x is None:
            x0 = _initial(net, _prepare_colors(level_content, [], params.preserve_color)[0], params)
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
    with torch.no_grad():
        final = objective(as_format(x, fmt))
    for term in ("content", "style", "tv", "total"):
        if not bool(torch.isfinite(final[term]).all()):
            raise NSTError(f"NaN/inf {term} loss at the end (step {len(history)}). Lower nst.lr or nst.beta.",
                           len(history), term)
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else 0.0
    return TransferResult(
        images=finish_final(net.to_rgb01(x)).cpu(),
        content=final["content"].cpu().tolist(),
        style=final["style"].cpu().tolist(),
        tv=final["tv"].cpu().tolist(),
        history=history,
        seconds_per_step=sum(seconds) / len(seconds),
        total=final["total"].cpu().tolist(),
        peak_device_mb=peak,
    )
