"""The `sample` section: the style batches drawn from a trained generator."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from apeart.core.config import SEED, bounds


@dataclass(frozen=True)
class SampleParams:
    SECTION: ClassVar[str] = "sample"

    seed: int = field(metadata=SEED)
    batches: int = field(metadata=bounds(1))
    batch_size: int = field(metadata=bounds(1))
    model: Literal["dcgan", "vaegan"]  # the generator of the style batches: models/<model>/generator.pt
