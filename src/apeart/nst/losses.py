"""Gatys content, style and total-variation losses, batched: one value per image."""
from __future__ import annotations

from dataclasses import dataclass

import torch


def gram(features: torch.Tensor, normalize: bool = True) -> torch.Tensor:
    """Gram matrices (B, C, C) of features (B, C, H, W).

    With `normalize`, scaled by 1/(2NM) so that the squared distance of two such Grams equals
    Gatys' E_l = 1/(4 N^2 M^2) * sum (G - A)^2 (N channels, M = H*W positions).
    """
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)
    g = torch.bmm(flat, flat.transpose(1, 2))
    return g / (2 * c * h * w) if normalize else g


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Gatys content loss 1/2 * sum (F - P)^2 per image."""
    return 0.5 * (features - target).pow(2).flatten(1).sum(1)


@dataclass(frozen=True)
class StyleTarget:
    """A blend of K style Grams: their weighted mean and the constant spread around it.

    sum_k w_k ||G - A_k||^2 = ||G - mean||^2 + spread, so K style images cost one distance per step.
    """

    mean: torch.Tensor
    spread: torch.Tensor

    @classmethod
    def from_grams(cls, grams: torch.Tensor, weights: torch.Tensor | None = None) -> StyleTarget:
        """Build from K Gram matrices (K, C, C) and optional blend weights summing to 1."""
        k = grams.shape[0]
        w = torch.full((k,), 1.0 / k, dtype=grams.dtype, device=grams.device) if weights is None else weights
        mean = torch.einsum("k,kij->ij", w, grams)
        spread = torch.einsum("k,k->", w, (grams - mean).pow(2).flatten(1).sum(1))
        return cls(mean, spread)


def style_loss(features: torch.Tensor, target: StyleTarget, normalize: bool = True) -> torch.Tensor:
    """Squared Gram distance per image to a (blended) style target."""
    diff = gram(features, normalize) - target.mean
    return diff.pow(2).flatten(1).sum(1) + target.spread


def tv_loss(image: torch.Tensor) -> torch.Tensor:
    """Squared total variation per image (sum of squared neighbour differences)."""
    dx = image[..., :, 1:] - image[..., :, :-1]
    dy = image[..., 1:, :] - image[..., :-1, :]
    return dx.pow(2).flatten(1).sum(1) + dy.pow(2).flatten(1).sum(1)
