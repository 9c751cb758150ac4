"""Ulyanov et al. 2016's multi-scale texture network: content pyramid + noise -> stylised RGB image."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Literal

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.fusion import fuse_conv_bn_eval

from apeart.core.checkpoint import read_model_file, save_checkpoint
from apeart.core.config import ParamsError, check_field
from apeart.texnet.params import TexnetParams
from apeart.core.errors import ApeartError

Norm = Literal["batch", "instance"]
NOISE_CHANNELS = 3  # per level: i.i.d. U(0, k) noise beside the 3 image channels


class TexnetError(ApeartError, RuntimeError):
    """Training diverged, a checkpoint belongs to another configuration, or a model file is unusable."""


def _norm(channels: int, norm: Norm) -> nn.Module:
    # Instance norm as GroupNorm with one channel per group: the same function (affine per channel), with a
    # channels_last CPU kernel, where InstanceNorm2d's is ~10x slower (benchmarks/bench_texnet.py).
    return nn.BatchNorm2d(channels) if norm == "batch" else nn.GroupNorm(channels, channels)


def _layer(cin: int, cout: int, kernel: int, norm: Norm) -> list[nn.Module]:
    # Replicate padding keeps the size without drawing a dark frame into every level, as zero padding does.
    return [nn.Conv2d(cin, cout, kernel, padding=kernel // 2, padding_mode="replicate"), _norm(cout, norm),
            nn.LeakyReLU(0.1)]


def conv_block(cin: int, cout: int, norm: Norm) -> nn.Sequential:
    """3x3 conv, 3x3 conv, 1x1 conv, each + norm + LeakyReLU(0.1) (Ulyanov et al.'s block)."""
    return nn.Sequential(*_layer(cin, cout, 3, norm), *_layer(cout, cout, 3, norm), *_layer(cout, cout, 1, norm))


def pyramid(image: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """`levels` copies of (B, 3, S, S), finest first: average pooling with kernel = stride = 2^i."""
    return [image if i == 0 else F.avg_pool2d(image, 2**i) for i in range(levels)]


class TextureNet(nn.Module):
    """Coarse to fine: each level's conv block (8 channels), joined with the upsampled coarser result
    (both normalised, as Ulyanov et al. join them), a block keeping the count; 8, 16, ... 8K channels;
    at full size a 1x1 conv to RGB. Input: RGB in [0, 1] and per-level noise; output: RGB in [0, 1]."""

    def __init__(self, levels: int = 6, channels: int = 8, norm: Norm = "instance") -> None:
        super().__init__()
        self.levels, self.channels, self.norm = levels, channels, norm
        self.inputs = nn.ModuleList(conv_block(3 + NOISE_CHANNELS, channels, norm) for _ in range(levels))
        self.joins = nn.ModuleList()
        self.join_norms = nn.ModuleList()
        for level in range(levels - 1, 0, -1):  # joins at levels K-1 .. 1 (0-based: K-2 .. 0)
            coarse = channels * (levels - level)
            self.join_norms.append(nn.ModuleList([_norm(channels, norm), _norm(coarse, norm)]))
            self.joins.append(conv_block(channels + coarse, channels + coarse, norm))
        self.out = nn.Conv2d(channels * levels, 3, 1)

    def noise(self, batch: int, size: int, scale: float, generator: torch.Generator | None = None,
              device: torch.device | None = None) -> list[torch.Tensor]:
        """Per-level U(0, scale) noise for `batch` images of side `size`, finest first (drawn coarse to fine)."""
        shapes = [(batch, NOISE_CHANNELS, size >> i, size >> i) for i in range(self.levels)]
        drawn = [torch.rand(s, generator=generator) * scale for s in reversed(shapes)]
        return [z.to(device) for z in reversed(drawn)]

    def forward(self, image: torch.Tensor, noise: list[torch.Tensor]) -> torch.Tensor:
        levels = pyramid(image, self.levels)
        x = self.inputs[-1](torch.cat([levels[-1], noise[-1]], 1))
        for j, level in enumerate(range(self.levels - 2, -1, -1)):
            fine = self.inputs[level](torch.cat([levels[level], noise[level]], 1))
            up = F.interpolate(x, scale_factor=2, mode="nearest")
            norm_fine, norm_up = self.join_norms[j]
            x = self.joins[j](torch.cat([norm_fine(fine), norm_up(up)], 1))
        return torch.sigmoid(self.out(x))


@torch.no_grad()
def fold_batchnorm(net: TextureNet) -> TextureNet:
    """An eval-mode copy with every conv's BatchNorm folded into it (torch's `fuse_conv_bn_eval`); the
    join norms (no conv before them) stay. Instance norm has no fixed statistics: nothing to fold."""
    net = copy.deepcopy(net).eval()
    for block in [*net.inputs, *net.joins]:
        for i in range(0, len(block), 3):  # conv, norm, activation
            if isinstance(block[i + 1], nn.BatchNorm2d):
                block[i], block[i + 1] = fuse_conv_bn_eval(block[i], block[i + 1]), nn.Identity()
    return net


def save_model(net: TextureNet, path: Path) -> None:
    """The network's architecture and weights, atomically, with a digest and its kind."""
    save_checkpoint(path, {"kind": "texnet", "levels": net.levels, "channels": net.channels, "norm": net.norm,
                           "net": net.state_dict()})


def read_model(path: Path, device: torch.device) -> TextureNet:
    """The network saved at `path` (eval mode), or TexnetError saying why it cannot be used: checked for its kind,
    its architecture within the texnet params' ranges and weights that fit it before anything is allocated."""
    payload = read_model_file(path, device, "texnet", TexnetError)
    try:
        shape = [check_field(TexnetParams, key, payload.get(key), key) for key in ("levels", "channels", "norm")]
    except ParamsError as error:
        raise TexnetError(f"{path}: architecture out of bounds ({error})") from None
    try:
        with torch.device("meta"):  # shapes only: weights that do not fit cost no memory
            net = TextureNet(*shape)
        net.load_state_dict(payload["net"], assign=True)
    except (TypeError, RuntimeError) as error:
        why = (str(error).splitlines() or [type(error).__name__])[0][:200]
        raise TexnetError(f"{path}: weights do not fit the architecture saved with them ({why})") from None
    return net.to(device).eval()
