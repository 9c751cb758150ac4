"""Gatys content, style and total-variation losses, batched: one value per image.

Every function accepts features in either memory layout (NCHW or channels_last) without copying them.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


class _Gram(torch.autograd.Function):
    """G = F F^T per image from F viewed as (B, C, M); backward dF = (dG + dG^T) F: one batched matmul
    where autograd's generic rule for F @ F^T spends two."""

    @staticmethod
    def forward(ctx, flat: torch.Tensor, transposed: bool) -> torch.Tensor:
        ctx.save_for_backward(flat)
        ctx.transposed = transposed
        return torch.bmm(flat.transpose(1, 2), flat) if transposed else torch.bmm(flat, flat.transpose(1, 2))

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (flat,) = ctx.saved_tensors
        sym = grad + grad.transpose(1, 2)
        return (torch.bmm(flat, sym) if ctx.transposed else torch.bmm(sym, flat)), None


REFERENCE_SIDE = 356  # seed 000's image size: `sum356` losses are the sums seed 000 got at this size
CONVENTIONS = ("sum356", "gatys", "mean", "sum")


@dataclass(frozen=True)
class Convention:
    """How raw sums become losses (nst.gram_norm): gram = gram_factor * F F^T per layer and
    content = content_factor * sum (F - P)^2, for a layer of N channels at M positions.

    - sum356: seed 000's sums (unnormalised Gram, content without 1/2) in torchvision feature units and
      at its 356-px image size: features / `feature_scale` (the backbone's), and sums over positions
      rescaled by the area ratio (356 x 356) / (H x W), so a beta means the same at any size.
    - gatys: Gatys et al.'s E_l = 1/(4 N^2 M^2) sum (G - A)^2 and content 1/2 sum (F - P)^2.
    - mean: the PyTorch tutorial's Gram / (N M) with mean squared errors, in torchvision units.
    - sum: unnormalised Gram in the backbone's own units, content 1/2 sum (F - P)^2.
    """

    name: str = "sum356"
    feature_scale: float = 1.0
    area_ratio: float = 1.0  # (REFERENCE_SIDE ** 2) / (H * W) of the network input

    @classmethod
    def of(cls, name: str, feature_scale: float, height: int, width: int) -> Convention:
        return cls(name, feature_scale, REFERENCE_SIDE**2 / (height * width))

    def factors(self, channels: int, positions: int) -> tuple[float, float]:
        """(gram_factor, content_factor) for one layer."""
        if self.name == "gatys":
            return 1 / (2 * channels * positions), 0.5
        if self.name == "mean":
            units = self.feature_scale**2  # the tutorial's network sees torchvision's input
            return 1 / (channels**2 * positions * units), 1 / (channels * positions * units)
        if self.name == "sum":
            return 1.0, 0.5
        return self._sum356_scale(), self._sum356_scale()

    def tv_factor(self) -> float:
        """TV of the network input in the same units (sum356: torchvision units at 356 px)."""
        return self._sum356_scale() if self.name == "sum356" else 1.0

    def _sum356_scale(self) -> float:
        """A squared sum over positions brought to torchvision units and seed 000's 356-px area."""
        return self.area_ratio / self.feature_scale**2


def gram(features: torch.Tensor, convention: Convention) -> torch.Tensor:
    """Gram matrices (B, C, C) of features (B, C, H, W), times the convention's factor (see `Convention`)."""
    b, c, h, w = features.shape
    if c > 1 and features.is_contiguous(memory_format=torch.channels_last):
        g = _Gram.apply(features.permute(0, 2, 3, 1).reshape(b, h * w, c), True)  # a view: positions x channels
    else:
        g = _Gram.apply(features.reshape(b, c, h * w), False)
    return g * convention.factors(c, h * w)[0]


def content_loss(features: torch.Tensor, target: torch.Tensor, convention: Convention) -> torch.Tensor:
    """Content loss per image: the convention's factor times sum (F - P)^2."""
    factor = convention.factors(features.shape[1], features.shape[2] * features.shape[3])[1]
    return factor * (features - target).square().sum(dim=(1, 2, 3))


@dataclass(frozen=True)
class StyleTarget:
    """A blend of K style Grams: their weighted mean and the constant spread around it.

    sum_k w_k ||G - A_k||^2 = ||G - mean||^2 + spread, so K style images cost one distance per step.
    Shared by the batch (mean (C, C), spread ()) or one per image (mean (B, C, C), spread (B,)).
    """

    mean: torch.Tensor
    spread: torch.Tensor

    @classmethod
    def from_grams(cls, grams: torch.Tensor, weights: torch.Tensor | None = None) -> StyleTarget:
        """Build from K Gram matrices (..., K, C, C) and optional blend weights (K,) summing to 1."""
        k = grams.shape[-3]
        w = torch.full((k,), 1.0 / k, dtype=grams.dtype, device=grams.device) if weights is None else weights
        w = w.to(dtype=grams.dtype, device=grams.device)
        mean = torch.einsum("k,...kij->...ij", w, grams)
        spread = torch.einsum("k,...k->...", w, (grams - mean.unsqueeze(-3)).square().sum(dim=(-2, -1)))
        return cls(mean, spread)


def style_loss(features: torch.Tensor, target: StyleTarget, convention: Convention) -> torch.Tensor:
    """Squared Gram distance per image to a (blended) style target of the same convention."""
    diff = gram(features, convention) - target.mean
    return diff.square().sum(dim=(1, 2)) + target.spread


def tv_loss(image: torch.Tensor) -> torch.Tensor:
    """Squared total variation per image (sum of squared neighbour differences)."""
    dx = image[..., :, 1:] - image[..., :, :-1]
    dy = image[..., 1:, :] - image[..., :-1, :]
    return dx.square().sum(dim=(1, 2, 3)) + dy.square().sum(dim=(1, 2, 3))
