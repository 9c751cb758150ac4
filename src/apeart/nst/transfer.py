"""Batched Gatys style transfer: all content images optimised together, one VGG pass per step."""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from tqdm import tqdm

from apeart.config import NstParams
from apeart.nst.backbones import VGGFeatures
from apeart.nst.losses import StyleTarget, content_loss, gram, style_loss, tv_loss


class NSTError(RuntimeError):
    """The optimisation diverged (NaN or inf loss)."""


@dataclass
class TransferResult:
    """Final images in RGB [0, 1], per-image final losses, per-step curves and timing."""

    images: torch.Tensor
    content: list[float]
    style: list[float]
    tv: list[float]
    history: list[dict[str, float]] = field(default_factory=list)
    seconds_per_step: float = 0.0


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


def _make_optimizer(params: NstParams, x: torch.Tensor) -> torch.optim.Optimizer:
    if params.optimizer == "lbfgs":
        # One iteration per step() so each step is one forward/backward; history persists across calls.
        # Zero tolerances: `steps` alone decides when to stop.
        return torch.optim.LBFGS([x], lr=params.lr, max_iter=1, history_size=50, tolerance_grad=0.0, tolerance_change=0.0)
    return torch.optim.Adam([x], lr=params.lr)


class Objective:
    """Targets computed once; `__call__` returns per-image content, style and TV losses of `x`."""

    def __init__(self, net: VGGFeatures, content: torch.Tensor, styles: list[torch.Tensor], params: NstParams):
        self.net, self.params = net, params
        self.normalize = params.gram_norm == "gatys"
        self.weights = layer_weights(params)
        with torch.no_grad():
            feats = net(net.to_input(content))
            self.content_targets = {name: feats[name] for name in params.content_layers}
            grams: dict[str, list[torch.Tensor]] = {name: [] for name in params.style_layers}
            for style in styles:  # styles may differ in size, so one pass each
                style_feats = net(net.to_input(style.unsqueeze(0)))
                for name in params.style_layers:
                    grams[name].append(gram(style_feats[name], self.normalize)[0])
            self.style_targets = {n: StyleTarget.from_grams(torch.stack(g)) for n, g in grams.items()}

    def __call__(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        feats = self.net(x)
        batch = x.shape[0]
        content = x.new_zeros(batch)
        for name, target in self.content_targets.items():
            content = content + content_loss(feats[name], target)
        style = x.new_zeros(batch)
        for weight, name in zip(self.weights, self.params.style_layers):
            style = style + weight * style_loss(feats[name], self.style_targets[name], self.normalize)
        tv = tv_loss(x) if self.params.tv_weight > 0 else x.new_zeros(batch)
        p = self.params
        total = p.alpha * content + p.beta * style + p.tv_weight * tv
        return {"total": total, "content": content, "style": style, "tv": tv}


def transfer(
    content: torch.Tensor,
    styles: list[torch.Tensor],
    params: NstParams,
    device: torch.device,
    on_snapshot: Callable[[int, torch.Tensor], None] | None = None,
) -> TransferResult:
    """Stylise a batch of content images (B, 3, H, W) in [0, 1] towards the blended style images."""
    net = VGGFeatures(params.backbone, params.content_layers + params.style_layers, params.pooling).to(device)
    content = content.to(device)
    objective = Objective(net, content, [s.to(device) for s in styles], params)
    generator = torch.Generator().manual_seed(params.seed)
    if params.init == "content":
        x = net.to_input(content).detach().clone()
    else:
        x = net.to_input(torch.rand(content.shape, generator=generator).to(device))
    x.requires_grad_(True)
    optimizer = _make_optimizer(params, x)
    snaps = set(snapshot_steps(params.steps, params.snapshots))
    history: list[dict[str, float]] = []
    last: dict[str, torch.Tensor] = {}
    # Gatys' losses on 0-255 Caffe features reach ~1e13, where float32 L-BFGS overflows, while a loss
    # scaled to ~1 falls under its fixed curvature threshold (ys > 1e-10). The optimiser sees the total
    # scaled to one unit per optimised pixel value at the start; reported losses stay unscaled.
    scale: list[torch.Tensor] = []

    def closure() -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        losses = objective(x)
        loss = losses["total"].sum()
        if not scale:
            scale.append(loss.detach().clamp_min(1e-12) / x.numel())
        loss = loss / scale[0]
        loss.backward()
        last.update({k: v.detach() for k, v in losses.items()})
        return loss

    if on_snapshot and 0 in snaps:
        on_snapshot(0, net.to_rgb01(x.detach()))
    start = time.perf_counter()
    for step in tqdm(range(1, params.steps + 1), desc="stylize", unit="step", mininterval=5):
        optimizer.step(closure)
        values = {k: float(v.mean()) for k, v in last.items()}
        for term, value in values.items():
            if not math.isfinite(value):
                raise NSTError(f"NaN/inf {term} loss at step {step}; last good snapshot kept. Lower nst.lr or nst.beta.")
        history.append({"step": step, **values})
        if on_snapshot and step in snaps:
            on_snapshot(step, net.to_rgb01(x.detach()))
    seconds = (time.perf_counter() - start) / params.steps
    with torch.no_grad():
        final = objective(x)
    return TransferResult(
        images=net.to_rgb01(x.detach()).cpu(),
        content=final["content"].cpu().tolist(),
        style=final["style"].cpu().tolist(),
        tv=tv_loss(x.detach()).cpu().tolist(),
        history=history,
        seconds_per_step=seconds,
    )
