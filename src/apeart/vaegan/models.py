"""VAE-GAN networks for 64x64 RGB (Larsen et al. 2016, "Autoencoding beyond pixels using a learned similarity
metric"), as seed 003 used them; every channel count and fully connected width is Larsen's times `width`.

Encoder: 5x5 stride-2 convs 64, 128, 256 (BatchNorm + ReLU), FC 2048 (BN + ReLU), heads mu and log sigma^2.
Decoder: FC to 8x8x256 (BN + ReLU), 5x5 stride-2 transposed convs 256, 128, 32 (BN + ReLU), 5x5 conv to 3, tanh
(or the DCGAN generator of `apeart.gan.models`, `vaegan.decoder: dcgan`, so a comparison can hold G fixed).
Discriminator: 5x5 convs 32 (stride 1, ReLU), then 128, 256, 256 (stride 2, BN + ReLU), FC 512 (BN + ReLU),
one logit (the sigmoid lives in the loss).

Dis_l, the layer whose features the reconstruction loss compares: Larsen et al.'s own code
(github.com/andersbll/autoencoding_beyond_pixels, `celeba_aegan.py` and `aegan.build_model`: `recon_depth=9`;
`model/aegan.py` cuts `discriminator.collection[:recon_depth]`, the flat layer list of `architectures.img64x64`:
conv32, ReLU, conv128, BN, ReLU, conv256, BN, ReLU, conv256, ...) uses the output of the 9th layer: D's 4th
convolution (the third stride-2 one, 256 channels at 8x8), *before* its BatchNorm and ReLU. `dis_layer` counts
D's convolutions (1-4) and always takes the raw convolution output; the default 4 is Larsen's.
(Their code's encoder FC is 1024 wide where the paper says 2048; we follow the paper.)
"""
from __future__ import annotations

from itertools import chain

import torch
from torch import Tensor, nn

from apeart.core.memory import Need, layer_outputs, module_bytes
from apeart.vaegan.params import VaeganParams
from apeart.gan.models import Generator, init_weights


def scaled(channels: int, width: float) -> int:
    """Larsen's `channels` times the width multiplier, at least 1."""
    return max(1, round(channels * width))


def _block(conv: nn.Module, channels: int) -> list[nn.Module]:
    return [conv, nn.BatchNorm2d(channels), nn.ReLU(True)]


class Encoder(nn.Module):
    """image (B, 3, 64, 64) in [-1, 1] -> (mu, logvar), each (B, latent)."""

    def __init__(self, latent: int = 128, width: float = 1.0) -> None:
        super().__init__()
        c1, c2, c3, fc = (scaled(n, width) for n in (64, 128, 256, 2048))
        self.features = nn.Sequential(
            *_block(nn.Conv2d(3, c1, 5, 2, 2, bias=False), c1),  # 32x32
            *_block(nn.Conv2d(c1, c2, 5, 2, 2, bias=False), c2),  # 16x16
            *_block(nn.Conv2d(c2, c3, 5, 2, 2, bias=False), c3),  # 8x8
            nn.Flatten(),
            nn.Linear(c3 * 8 * 8, fc, bias=False), nn.BatchNorm1d(fc), nn.ReLU(True),
        )
        self.mu = nn.Linear(fc, latent)
        self.logvar = nn.Linear(fc, latent)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.features(x)
        return self.mu(h), self.logvar(h)


class LarsenDecoder(nn.Module):
    """z (B, latent) or (B, latent, 1, 1) -> image (B, 3, 64, 64) in [-1, 1]."""

    def __init__(self, latent: int = 128, width: float = 1.0) -> None:
        super().__init__()
        c0, c1, c2, c3 = (scaled(n, width) for n in (256, 256, 128, 32))
        self.c0 = c0
        self.fc = nn.Sequential(nn.Linear(latent, c0 * 8 * 8, bias=False), nn.BatchNorm1d(c0 * 8 * 8), nn.ReLU(True))

        def up(c_in: int, c_out: int) -> list[nn.Module]:
            return _block(nn.ConvTranspose2d(c_in, c_out, 5, 2, 2, output_padding=1, bias=False), c_out)

        self.main = nn.Sequential(
            *up(c0, c1),  # 16x16
            *up(c1, c2),  # 32x32
            *up(c2, c3),  # 64x64
            nn.Conv2d(c3, 3, 5, 1, 2),
            nn.Tanh(),
        )

    def forward(self, z: Tensor) -> Tensor:
        return self.main(self.fc(z.flatten(1)).view(len(z), self.c0, 8, 8))


class DcganDecoder(Generator):
    """The DCGAN generator as the VAE-GAN's decoder: accepts z as (B, latent) or (B, latent, 1, 1)."""

    def forward(self, z: Tensor) -> Tensor:
        return super().forward(z.reshape(len(z), -1, 1, 1))


class Discriminator(nn.Module):
    """image (B, 3, 64, 64) -> logit (B,); `features` returns Dis_l (see the module docstring) as well."""

    def __init__(self, width: float = 1.0, dis_layer: int = 4) -> None:
        super().__init__()
        if not 1 <= dis_layer <= 4:
            raise ValueError(f"dis_layer {dis_layer}: D has 4 convolutions")
        c1, c2, c3, c4, fc = (scaled(n, width) for n in (32, 128, 256, 256, 512))
        self.convs = nn.ModuleList([
            nn.Conv2d(3, c1, 5, 1, 2),  # 64x64, full resolution (Larsen: stride 1)
            nn.Conv2d(c1, c2, 5, 2, 2, bias=False),  # 32x32
            nn.Conv2d(c2, c3, 5, 2, 2, bias=False),  # 16x16
            nn.Conv2d(c3, c4, 5, 2, 2, bias=False),  # 8x8
        ])
        self.after = nn.ModuleList([nn.ReLU(True)] + [nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(True)) for c in (c2, c3, c4)])
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(c4 * 8 * 8, fc, bias=False), nn.BatchNorm1d(fc), nn.ReLU(True),
                                  nn.Linear(fc, 1))
        self.dis_layer = dis_layer

    def features(self, x: Tensor, stop: bool = False) -> tuple[Tensor, Tensor | None]:
        """(Dis_l features (B, C, H, W), logit (B,)); with `stop`, only the features (the rest is not run)."""
        feats = None
        for i, (conv, after) in enumerate(zip(self.convs, self.after), start=1):
            x = conv(x)
            if i == self.dis_layer:
                feats = x
                if stop:
                    return feats, None
                x = x.clone()  # the ReLU after is in place; Dis_l is the pre-BN output itself
            x = after(x)
        return feats, self.head(x).flatten()

    def forward(self, x: Tensor, dis_l: bool = False) -> Tensor:
        """The logits (B,), or with `dis_l` the Dis_l features alone."""
        feats, logits = self.features(x, stop=dis_l)
        return feats if dis_l else logits


def build_decoder(kind: str, latent: int, width: float, ngf: int) -> nn.Module:
    """The decoder `kind` names (larsen | dcgan), freshly initialised from the global RNG."""
    if kind == "dcgan":
        G = DcganDecoder(latent, ngf)
        G.apply(init_weights)  # Radford et al.'s N(0, 0.02), as the DCGAN's own G
        return G
    return LarsenDecoder(latent, width)


def seeded_networks(params: VaeganParams) -> tuple[Encoder, nn.Module, Discriminator]:
    """Encoder, decoder and discriminator, freshly initialised (PyTorch's default init) from `params.seed`."""
    torch.manual_seed(params.seed)
    E = Encoder(params.latent, params.width)
    Dec = build_decoder(params.decoder, params.latent, params.width, params.ngf)
    return E, Dec, Discriminator(params.width, params.dis_layer)


def training_need(params: VaeganParams, device: torch.device) -> Need:
    """Bytes train_vaegan's processes allocate together, an upper-ish bound from shapes on the meta device (fp32),
    counted as gan.models.training_need counts the DCGAN's. Each process, on its device: E, Dec and D, their
    gradients and optimiser state, DDP's gradient buckets, and what autograd keeps for its share of a batch (E's
    layer outputs once, Dec's three times: the reconstruction and the GAN decode of two latents; D's eight times:
    real and the two GAN decodes through D and again through its frozen copy, and the reconstruction and real to
    Dis_l) with as much again for their gradients; on the host: the checkpoint payload and the largest weight
    once more."""
    with torch.device("meta"):
        E = Encoder(params.latent, params.width)
        Dec = build_decoder(params.decoder, params.latent, params.width, params.ngf)
        D = Discriminator(params.width, params.dis_layer)
    nets = (E, Dec, D)
    weights = sum(module_bytes(net) for net in nets)
    batch = params.batch_size // params.processes
    images = torch.empty(batch, 3, 64, 64, device="meta")
    activations = sum(layer_outputs(E, images)) + 3 * sum(layer_outputs(Dec, torch.empty(batch, params.latent,
                                                                                            device="meta")))
    activations += 8 * sum(layer_outputs(D, images))
    states = 2 if params.optimizer == "adam" else 1
    buckets = weights * (params.processes > 1)
    per_process = weights * (2 + states) + buckets + 2 * activations
    checkpoint = weights * (1 + states) + max(t.nbytes for t in chain(*(net.parameters() for net in nets)))
    on_device = per_process * (1 if device.type == "cuda" else params.processes)
    return Need(device=on_device, host=checkpoint * params.processes)
