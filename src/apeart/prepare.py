"""Prepare raw collection images: composite onto the background, crop square, resize; skip bad files."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from multiprocessing import Pool
from pathlib import Path
from typing import ClassVar

from apeart.core.config import bounds
from apeart.core.files import save_png
from apeart.core.images import BadImageError, open_image, resize_square, to_rgb
from apeart.core.progress import progress

GAN_SIZE = 64  # the DCGAN's resolution (Radford et al.)


@dataclass(frozen=True)
class PrepareParams:
    SECTION: ClassVar[str] = "prepare"

    workers: int = field(metadata=bounds(1, 64, speed_only=True))


def _prepare_one(job: tuple[Path, tuple[tuple[Path, int], ...]]) -> tuple[str, str | None]:
    src, outs = job
    try:
        image = to_rgb(open_image(src))
        for folder, size in outs:
            save_png(resize_square(image, size), folder / f"{src.stem}.png")
        return src.name, None
    except BadImageError as err:
        return src.name, err.reason


def prepare_images(sources: list[Path], outs: Mapping[Path, int], workers: int = 2) -> list[dict[str, str]]:
    """Write `<name>.png` of each readable source into each folder of `outs` at its size (square, RGB), decoding
    the source once; return the skipped ones."""
    for folder in outs:
        folder.mkdir(parents=True, exist_ok=True)
    targets = tuple(outs.items())
    jobs = [(src, targets) for src in sources]
    sizes = "/".join(f"{size}px" for size in outs.values())
    with Pool(workers) as pool:
        results = list(progress(pool.imap(_prepare_one, jobs, chunksize=16), total=len(jobs),
                                desc=f"prepare {sizes}", unit="img"))
    return [{"file": name, "reason": reason} for name, reason in results if reason is not None]
