"""The `evaluate` section: the GAN yardstick (FD and KID in a VGG19 layer), fixed while comparing generators."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from apeart.core.config import ParamsError, bounds
from apeart.vgg.layers import VGG19_LAYERS


@dataclass(frozen=True)
class EvaluateParams:
    """The GAN yardstick (stage evaluate_gan): FD and KID in a VGG19 layer's pooled features."""

    SECTION: ClassVar[str] = "evaluate"

    samples: int = field(metadata=bounds(2))  # per set (at most half the real set)
    layer: str
    kid_subsets: int = field(metadata=bounds(1))
    kid_subset_size: int = field(metadata=bounds(2))

    def __post_init__(self) -> None:
        if self.layer not in VGG19_LAYERS:
            raise ParamsError(f"evaluate.layer: unknown layer {self.layer!r}; known: {', '.join(VGG19_LAYERS)}")
