"""The `gan` section: DCGAN training (Radford et al. 2015)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from apeart.core.config import SEED, ParamsError, bounds, check_split

DIFFAUGMENT_POLICIES = ("color", "translation", "cutout")  # each implemented in apeart.gan.augment
FIXED_SAMPLES = 64  # fixed-noise images train_gan and train_vaegan save after every epoch, for the figure stages


@dataclass(frozen=True)
class GanParams:
    SECTION: ClassVar[str] = "gan"

    seed: int = field(metadata=SEED)
    epochs: int = field(metadata=bounds(1))
    batch_size: int = field(metadata=bounds(1))
    processes: int = field(metadata=bounds(1, 4096))  # DDP ranks; each trains on batch_size / processes
    nz: int = field(metadata=bounds(1))
    ngf: int = field(metadata=bounds(1))
    ndf: int = field(metadata=bounds(1))
    lr: float = field(metadata=bounds(0, lo_open=True))
    d_lr_mult: float = field(metadata=bounds(0, lo_open=True))
    lr_decay_from: float = field(metadata=bounds(0, 1))  # fraction of the run after which both lrs fall linearly to 0
    beta1: float = field(metadata=bounds(0, 1, hi_open=True))
    beta2: float = field(metadata=bounds(0, 1, hi_open=True))
    init_std: float = field(metadata=bounds(0, lo_open=True))
    leaky_slope: float = field(metadata=bounds(0, 1))
    real_label: float = field(metadata=bounds(0, 1, lo_open=True))
    real_label_late: float = field(metadata=bounds(0, 1, lo_open=True))
    diffaugment: str  # comma list of color, translation, cutout
    ema_decay: float = field(metadata=bounds(0, 1))
    precision: Literal["fp32", "bf16"]  # bf16: autocast (CPUs with AVX512-BF16/AMX, GPUs)
    device: Literal["auto", "cpu", "cuda"]
    loss: Literal["bce", "hinge"]  # hinge: Lim & Ye 2017 (real_label does not apply)
    spectral_norm: bool  # on D's convolutions (Miyato et al. 2018)
    minibatch_std: bool  # D sees its batch's feature spread before its last convolution (Karras et al. 2018)
    d_optimizer: Literal["adam", "rmsprop"]  # rmsprop: seed 003's D lever (lr x d_lr_mult, no betas)

    def __post_init__(self) -> None:
        for name in self.policy:
            if name not in DIFFAUGMENT_POLICIES:
                raise ParamsError(f"gan.diffaugment: unknown policy {name!r}; use a comma list of "
                                  f"{', '.join(DIFFAUGMENT_POLICIES)}, or \"\" for none")
        if self.ema_decay >= 1:
            raise ParamsError(f"gan.ema_decay: {self.ema_decay!r} is out of range; allowed >= 0 and < 1")
        check_split("gan", self.batch_size, self.processes)

    @property
    def policy(self) -> tuple[str, ...]:
        """The DiffAugment names in order: `"translation, cutout"` -> ("translation", "cutout"); "" -> ()."""
        return tuple(name.strip() for name in self.diffaugment.split(",") if name.strip())
