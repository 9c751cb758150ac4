"""Colour preservation for NST (Gatys et al. 2017, "Controlling Perceptual Factors in Neural Style Transfer").

`luminance`: transfer on luminance only (style luminance matched to the content's mean and spread),
then put the content's chrominance back (YIQ). `histogram`: recolour each style image so its colour
mean and covariance equal the content image's (the linear colour transfer of that paper) before its
Gram targets are taken. All functions take RGB in [0, 1], (..., 3, H, W).
"""
from __future__ import annotations

import torch

RGB_TO_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]])


def _mix(matrix: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,...jhw->...ihw", matrix.to(image), image)


def rgb_to_yiq(image: torch.Tensor) -> torch.Tensor:
    return _mix(RGB_TO_YIQ, image)


def yiq_to_rgb(image: torch.Tensor) -> torch.Tensor:
    return _mix(torch.linalg.inv(RGB_TO_YIQ.double()).float(), image)


def luminance(image: torch.Tensor) -> torch.Tensor:
    """Y (..., 1, H, W)."""
    return rgb_to_yiq(image)[..., :1, :, :]


def gray3(y: torch.Tensor) -> torch.Tensor:
    """A luminance map as an RGB image (the network sees 3 equal channels)."""
    return y.expand(*y.shape[:-3], 3, *y.shape[-2:]).clamp(0, 1).contiguous()


def match_luminance(style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Style (3, h, w) as gray RGB whose luminance has the content's (3, H, W) mean and std."""
    ys, yc = luminance(style), luminance(content)
    matched = (ys - ys.mean()) / ys.std().clamp_min(1e-6) * yc.std() + yc.mean()
    return gray3(matched)


def merge_luminance(result: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Luminance of `result`, chrominance (I, Q) of `content`; same shapes."""
    yiq = torch.cat([luminance(result), rgb_to_yiq(content)[..., 1:, :, :]], dim=-3)
    return yiq_to_rgb(yiq).clamp(0, 1)


def _sqrtm(cov: torch.Tensor, inverse: bool = False) -> torch.Tensor:
    values, vectors = torch.linalg.eigh(cov)
    values = values.clamp_min(1e-8)
    power = -0.5 if inverse else 0.5
    return vectors @ torch.diag(values.pow(power)) @ vectors.T


def match_colors(style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Style (3, h, w) recoloured so its RGB mean and covariance equal the content's (3, H, W)."""
    s = style.reshape(3, -1).double()
    c = content.reshape(3, -1).double()
    mu_s, mu_c = s.mean(1, keepdim=True), c.mean(1, keepdim=True)
    cov_s = torch.cov(s) + 1e-5 * torch.eye(3, dtype=s.dtype)
    cov_c = torch.cov(c) + 1e-5 * torch.eye(3, dtype=s.dtype)
    out = _sqrtm(cov_c) @ _sqrtm(cov_s, inverse=True) @ (s - mu_s) + mu_c
    return out.reshape(style.shape).to(style.dtype).clamp(0, 1)
