"""A trained texture network rewritten for inference: the same function as `TextureNet` (BatchNorm folded), in
fewer FLOPs and passes (benchmarks/bench_texnet.py "levers", README "Speed").

- 1x1 convs as one matrix product over the channels_last pixels (the same GEMM torch's 1x1 conv runs on one
  thread, without its separate bias pass); before instance norm no bias at all (the norm subtracts it).
- Each join: the coarse input's norm taken before the x2 nearest upsampling (the same statistics, 4x fewer pixels)
  and its share of the join's first 3x3 conv computed from the coarse input: a 3x3 conv of a nearest-upsampled
  input is, per output phase (row and column parity), a 2x2 conv of the coarse input (taps summed), which is one
  stride-2 transposed conv with a 4x4 kernel: 16 coarse taps do the work of 36 fine ones, and the upsampled
  tensor is never made. Replicate padding commutes with both (tested against TextureNet).

The results equal TextureNet's up to float rounding (~1e-6), not bit for bit; they are deterministic like any other
graph of these kernels (same image, noise and thread count -> same bits).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from apeart.texnet.models import TextureNet, pyramid

# Fine output row 2i + p takes coarse rows i - 1, i (p = 0) or i, i + 1 (p = 1) of the x2 nearest upsampling,
# each with the sum of the 3x3 kernel's rows (offsets -1, 0, +1) that land on it; in a stride-2 transposed conv
# with padding 3 over the coarse input padded by 1, coarse tap t of parity p is kernel row 3 - p - 2t.
_UPSAMPLED_TAPS = torch.tensor([[0.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])


def upsampled_conv_weight(weight: torch.Tensor) -> torch.Tensor:
    """(O, I, 3, 3) conv weight -> (I, O, 4, 4) transposed-conv weight: `upsampled_conv` of a coarse x equals the
    3x3 conv (replicate padding) of x's x2 nearest upsampling."""
    taps = _UPSAMPLED_TAPS.to(weight)
    return torch.einsum("ky,oiyx,lx->iokl", taps, weight, taps)


def upsampled_conv(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """The 3x3 conv of x's x2 nearest upsampling (replicate-padded), from x, `weight` from upsampled_conv_weight."""
    return F.conv_transpose2d(_replicate(x), weight, stride=2, padding=3)


def pointwise(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """A 1x1 conv of channels_last `x` (N, C, H, W) as (NHW, C) @ weight (C, O) (+ bias); channels_last out."""
    n, c, h, w = x.shape
    rows = x.permute(0, 2, 3, 1).reshape(-1, c)  # a view in channels_last
    y = torch.mm(rows, weight) if bias is None else torch.addmm(bias, rows, weight)
    return y.view(n, h, w, -1).permute(0, 3, 1, 2)


def _replicate(x: torch.Tensor) -> torch.Tensor:
    return F.pad(x, (1, 1, 1, 1), mode="replicate")


class _Block(nn.Module):
    """A TextureNet conv block (3x3, 3x3, 1x1 conv, each + norm + LeakyReLU 0.1), its 1x1 conv a matrix product."""

    def __init__(self, block: nn.Sequential, instance: bool) -> None:
        super().__init__()
        self.conv1, self.norm1, _, self.conv2, self.norm2, _, conv3, self.norm3, _ = block
        self.weight3 = nn.Parameter(conv3.weight.detach().flatten(1).t().contiguous(), requires_grad=False)
        self.bias3 = None if instance else nn.Parameter(conv3.bias.detach().clone(), requires_grad=False)

    def rest(self, x: torch.Tensor) -> torch.Tensor:
        """The block after its first conv, from that conv's output."""
        x = F.leaky_relu(self.norm1(x), 0.1)
        x = F.leaky_relu(self.norm2(self.conv2(x)), 0.1)
        return F.leaky_relu(self.norm3(pointwise(x, self.weight3, self.bias3)), 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rest(self.conv1(x))


class _Join(nn.Module):
    """norm(fine) and the x2 upsampled norm(coarse), concatenated, through a block: its first conv split into the
    fine channels' 3x3 conv and the coarse channels' `upsampled_conv`."""

    def __init__(self, block: nn.Sequential, norms: nn.ModuleList, fine: int, instance: bool,
                 subpixel: bool) -> None:
        super().__init__()
        self.block, (self.norm_fine, self.norm_coarse), self.subpixel = _Block(block, instance), norms, subpixel
        weight = block[0].weight.detach()
        self.weight_fine = nn.Parameter(weight[:, :fine].contiguous(), requires_grad=False)
        self.weight_coarse = nn.Parameter(upsampled_conv_weight(weight[:, fine:]).contiguous(), requires_grad=False)

    def forward(self, fine: torch.Tensor, coarse: torch.Tensor) -> torch.Tensor:
        coarse = self.norm_coarse(coarse)  # per-channel statistics: those of its nearest upsampling
        if not self.subpixel:  # the lever's baseline: upsample, concatenate, one 3x3 conv
            up = F.interpolate(coarse, scale_factor=2, mode="nearest")
            return self.block(torch.cat([self.norm_fine(fine), up], 1))
        y = F.conv2d(_replicate(self.norm_fine(fine)), self.weight_fine, self.block.conv1.bias)
        return self.block.rest(y.add_(upsampled_conv(coarse, self.weight_coarse)))


class InferenceNet(nn.Module):
    """`net` (eval, BatchNorm folded: `fold_batchnorm`) for inference on channels_last inputs; `noise` and
    `levels` as TextureNet's. `subpixel=False` keeps the joins' upsample + 3x3 conv (a benchmark lever row)."""

    noise = TextureNet.noise

    def __init__(self, net: TextureNet, subpixel: bool = True) -> None:
        super().__init__()
        self.levels, self.channels, self.norm = net.levels, net.channels, net.norm
        instance = net.norm == "instance"
        self.inputs = nn.ModuleList(_Block(block, instance) for block in net.inputs)
        self.joins = nn.ModuleList(_Join(block, norms, net.channels, instance, subpixel)
                                   for block, norms in zip(net.joins, net.join_norms))
        self.weight_out = nn.Parameter(net.out.weight.detach().flatten(1).t().contiguous(), requires_grad=False)
        self.bias_out = nn.Parameter(net.out.bias.detach().clone(), requires_grad=False)
        self.eval()

    def forward(self, image: torch.Tensor, noise: list[torch.Tensor]) -> torch.Tensor:
        levels = pyramid(image, self.levels)
        x = self.inputs[-1](torch.cat([levels[-1], noise[-1]], 1))
        for join, level in zip(self.joins, range(self.levels - 2, -1, -1)):
            x = join(self.inputs[level](torch.cat([levels[level], noise[level]], 1)), x)
        return torch.sigmoid(pointwise(x, self.weight_out, self.bias_out))
