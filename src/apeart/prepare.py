"""Prepare raw collection images: composite onto the background, crop square, resize; skip bad files."""
from __future__ import annotations

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


def _prepare_one(job: tuple[Path, Path, int]) -> tuple[str, str | None]:
    src, dst, size = job
    try:
        save_png(resize_square(to_rgb(open_image(src)), size), dst)
        return src.name, None
    except BadImageError as err:
        return src.name, err.reason


def prepare_images(sources: list[Path], out_dir: Path, size: int, workers: int = 2) -> list[dict[str, str]]:
    """Write `<name>.png` at `size` x `size` RGB for each readable source; return the skipped ones."""
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [(src, out_dir / f"{src.stem}.png", size) for src in sources]
    with Pool(workers) as pool:
        results = list(progress(pool.imap(_prepare_one, jobs, chunksize=16), total=len(jobs),
                                desc=f"prepare {size}px", unit="img"))
    return [{"file": name, "reason": reason} for name, reason in results if reason is not None]
