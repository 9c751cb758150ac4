"""The `texnet` section: Ulyanov et al. 2016 texture networks."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from apeart.core.config import SEED, ParamsError, bounds, check_split


@dataclass(frozen=True)
class TexnetParams:
    """Ulyanov et al. 2016 texture networks (seed 002): one feed-forward stylizer per style."""

    SECTION: ClassVar[str] = "texnet"

    size: int = field(metadata=bounds(4, 4096))  # multiple of 2^(levels - 1), >= 2^levels
    levels: int = field(metadata=bounds(1, 8))  # pyramid levels K
    channels: int = field(metadata=bounds(1, 256))  # per level: 8, 16, ... 8K after the joins
    norm: Literal["batch", "instance"]
    style_source: Literal["gan", "images"]  # the style: a GAN style batch or nst.style_dir's paintings
    style_batch: int = field(metadata=bounds(0))
    alpha: float = field(metadata=bounds(0))  # loss weights, in nst.gram_norm's convention
    beta: float = field(metadata=bounds(0))
    tv_weight: float = field(metadata=bounds(0))
    train_images: int = field(metadata=bounds(0))  # first N; 0 = the collection minus the NST content set
    epochs: int = field(metadata=bounds(1))
    batch_size: int = field(metadata=bounds(1))
    processes: int = field(metadata=bounds(1, 4096))  # DDP ranks; each trains on batch_size / processes
    lr: float = field(metadata=bounds(0, lo_open=True))
    noise_scale: float = field(metadata=bounds(0))  # k of the U(0, k) noise in training
    noise_scales: list[float]  # fig. 6 row (inference)
    workers: int = field(metadata=bounds(1, 256, speed_only=True))  # stylize_collection processes
    seed: int = field(metadata=SEED)
    device: Literal["auto", "cpu", "cuda"]

    def __post_init__(self) -> None:
        step = 2 ** (self.levels - 1)
        if self.size % step or self.size < 2 * step:
            raise ParamsError(f"texnet.size: {self.size} is not a multiple of 2^(levels-1) = {step} of at least "
                              f"{2 * step} (every pyramid level halves it, down to 2 px); "
                              f"try {max(2 * step, round(self.size / step) * step)}")
        if any(k < 0 for k in self.noise_scales):
            raise ParamsError(f"texnet.noise_scales: {self.noise_scales} has a negative value; allowed >= 0")
        if self.alpha == 0 and self.beta == 0:
            raise ParamsError("texnet.alpha and texnet.beta are both 0: the texture network would have no loss")
        check_split("texnet", self.batch_size, self.processes)
