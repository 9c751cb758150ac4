"""The `figures` section: knobs of the GAN and VAE-GAN figure stages, which draw from saved models and samples
(so no key here re-runs training)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from apeart.core.config import bounds
from apeart.gan.params import FIXED_SAMPLES


@dataclass(frozen=True)
class FiguresParams:
    """The `figures` section of both GANs' figure stages (gan_figures, vaegan_figures), drawn from the trained
    models and their saved fixed-noise samples: no key here re-runs training."""

    SECTION: ClassVar[str] = "figures"

    gan_grid_size: int = field(metadata=bounds(1, FIXED_SAMPLES))  # fixed-noise samples per progress grid
    gan_grid_every: int = field(metadata=bounds(1))  # epochs between progress grids
    gan_walk_rows: int = field(metadata=bounds(1, 64))  # latent interpolation: walks (rows)
    gan_walk_steps: int = field(metadata=bounds(2, 64))  # and images per walk
    vaegan_grid_size: int = field(metadata=bounds(1, FIXED_SAMPLES))
    vaegan_grid_every: int = field(metadata=bounds(1))
    vaegan_walk_rows: int = field(metadata=bounds(1, 64))  # latent walks between two real apes (rows)
    vaegan_walk_steps: int = field(metadata=bounds(2, 64))
