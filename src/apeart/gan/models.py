"""DCGAN generator and discriminator for 64x64 RGB (Radford et al. 2015)."""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from apeart.gan.params import GanParams


class Generator(nn.Module):
    """z (B, nz, 1, 1) -> image (B, 3, 64, 64) in [-1, 1]."""

    def __init__(self, nz: int = 100, ngf: int = 64) -> None:
        super().__init__()

        def up(c_in: int, c_out: int, stride: int = 2, padding: int = 1) -> list[nn.Module]:
            return [nn.ConvTranspose2d(c_in, c_out, 4, stride, padding, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True)]

        self.main = nn.Sequential(
            *up(nz, ngf * 8, 1, 0),  # 4x4
            *up(ngf * 8, ngf * 4),  # 8x8
            *up(ngf * 4, ngf * 2),  # 16x16
            *up(ngf * 2, ngf),  # 32x32
            nn.ConvTranspose2d(ngf, 3, 4, 2, 1, bias=False),  # 64x64
            nn.Tanh(),
        )

    def forward(self, z: Tensor) -> Tensor:
        return self.main(z)


class MinibatchStd(nn.Module):
    """Appends one feature map: the features' standard deviation over the batch, averaged (Karras et al. 2018),
    so D can tell a batch of near-copies from a real one."""

    def forward(self, x: Tensor) -> Tensor:
        std = (x.var(0, correction=0) + 1e-8).sqrt().mean()  # the epsilon keeps the gradient finite at std 0
        return torch.cat([x, std.expand(x.shape[0], 1, *x.shape[2:])], 1)


class Discriminator(nn.Module):
    """image (B, 3, 64, 64) -> logit (B,); BatchNorm in every block but the first; `minibatch_std` adds a
    MinibatchStd map before the last convolution."""

    def __init__(self, ndf: int = 64, slope: float = 0.2, minibatch_std: bool = False) -> None:
        super().__init__()

        def down(c_in: int, c_out: int, norm: bool = True) -> list[nn.Module]:
            layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False)]
            if norm:
                layers.append(nn.BatchNorm2d(c_out))
            return layers + [nn.LeakyReLU(slope, inplace=True)]

        self.main = nn.Sequential(
            *down(3, ndf, norm=False),  # 32x32
            *down(ndf, ndf * 2),  # 16x16
            *down(ndf * 2, ndf * 4),  # 8x8
            *down(ndf * 4, ndf * 8),  # 4x4
            *([MinibatchStd()] if minibatch_std else []),
            nn.Conv2d(ndf * 8 + minibatch_std, 1, 4, 1, 0, bias=False),
        )

    def forward(self, x: Tensor) -> Tensor:
        # Logits; the sigmoid lives in BCEWithLogitsLoss, which is the numerically stable form.
        return self.main(x).flatten()


def init_weights(module: nn.Module, std: float = 0.02) -> None:
    """Radford et al. init: conv weights N(0, std), BatchNorm weights N(1, std) and zero bias."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, std)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, std)
        nn.init.zeros_(module.bias)


def seeded_generator(params: GanParams) -> Generator:
    """A freshly initialised G from `params.seed`: where training starts, and the untrained baseline."""
    torch.manual_seed(params.seed)
    G = Generator(params.nz, params.ngf)
    G.apply(lambda m: init_weights(m, params.init_std))
    return G


def initialised_discriminator(params: GanParams) -> Discriminator:
    """D with the Radford et al. init (from the global RNG) and, with `spectral_norm`, every convolution's
    weight divided by its spectral norm (Miyato et al. 2018; wrapped after the init, which it reads)."""
    D = Discriminator(params.ndf, params.leaky_slope, params.minibatch_std)
    D.apply(lambda m: init_weights(m, params.init_std))
    if params.spectral_norm:
        for i, layer in enumerate(D.main):
            if isinstance(layer, nn.Conv2d):
                D.main[i] = spectral_norm(layer)
    return D


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Generator output in [-1, 1] -> uint8 on the CPU."""
    return ((images.detach().float().cpu() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
