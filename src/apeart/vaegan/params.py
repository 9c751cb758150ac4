"""The `vaegan` section: Larsen et al. 2016 VAE-GAN."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from apeart.core.config import SEED, ParamsError, bounds, check_split


@dataclass(frozen=True)
class VaeganParams:
    """Larsen et al. 2016 VAE-GAN (seed 003), trained beside the DCGAN on the same data (stage train_vaegan)."""

    SECTION: ClassVar[str] = "vaegan"

    seed: int = field(metadata=SEED)
    epochs: int = field(metadata=bounds(1))
    batch_size: int = field(metadata=bounds(1))
    processes: int = field(metadata=bounds(1, 4096))  # DDP ranks; each trains on batch_size / processes
    latent: int = field(metadata=bounds(1))
    width: float = field(metadata=bounds(0, 4, lo_open=True))  # x Larsen's channels and FC widths
    decoder: Literal["larsen", "dcgan"]  # dcgan: apeart.gan.models.Generator (width ngf)
    ngf: int = field(metadata=bounds(1))  # the dcgan decoder's width (gan.ngf holds G fixed)
    dis_layer: int = field(metadata=bounds(1, 4))  # Dis_l: D's k-th conv, before BatchNorm
    gamma: float = field(metadata=bounds(0))  # decoder: gamma * L_llike + its GAN loss
    pixel_weight: float = field(metadata=bounds(0))  # + this x pixel Gaussian NLL in L_llike
    dec_gan: Literal["nonsaturating", "minimax"]
    margin: float = field(metadata=bounds(0))  # Larsen's equilibrium margin; 0 = always update
    equilibrium: float = field(metadata=bounds(0, lo_open=True))
    optimizer: Literal["adam", "rmsprop"]
    lr: float = field(metadata=bounds(0, lo_open=True))
    beta1: float = field(metadata=bounds(0, 1, hi_open=True))  # adam only
    beta2: float = field(metadata=bounds(0, 1, hi_open=True))  # adam only
    device: Literal["auto", "cpu", "cuda"]

    def __post_init__(self) -> None:
        check_split("vaegan", self.batch_size, self.processes)
        if self.batch_size < 2 * self.processes:
            raise ParamsError(f"vaegan.batch_size: {self.batch_size} gives a rank fewer than 2 images; BatchNorm "
                              f"needs 2 per process (vaegan.processes {self.processes})")
