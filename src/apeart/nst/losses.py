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


def gram(features: torch.Tensor, normalize: bool = True) -> torch.Tensor:
    """Gram matrices (B, C, C) of features (B, C, H, W).

    With `normalize`, scaled by 1/(2NM) so that the squared distance of two such Grams equals
    Gatys' E_l = 1/(4 N^2 M^2) * sum (G - A)^2 (N channels, M = H*W positions).
    """
    b, c, h, w = features.shape
    if c > 1 and features.is_contiguous(memory_format=torch.channels_last):
        g = _Gram.apply(features.permute(0, 2, 3, 1).reshape(b, h * w, c), True)  # a view: positions x channels
    else:
        g = _Gram.apply(features.reshape(b, c, h * w), False)
    return g / (2 * c * h * w) if normalize else g


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Gatys content loss 1/2 * sum (F - P)^2 per image."""
    return 0.5 * (features - target).square().sum(dim=(1, 2, 3))


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


def style_loss(features: torch.Tensor, target: StyleTarget, normalize: bool = True) -> torch.Tensor:
    """Squared Gram distance per image to a (blended) style target."""
    diff = gram(features, normalize) - target.mean
    return diff.square().sum(dim=(1, 2)) + target.spread


def tv_loss(image: torch.Tensor) -> torch.Tensor:
    """Squared total variation per image (sum of squared neighbour differences)."""
    dx = image[..., :, 1:] - image[..., :, :-1]
    dy = image[..., 1:, :] - image[..., :-1, :]
    return dx.square().sum(dim=(1, 2, 3)) + dy.square().sum(dim=(1, 2, 3))
