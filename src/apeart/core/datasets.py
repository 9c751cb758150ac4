"""Prepared image sets, decoded once into one uint8 tensor in memory."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from apeart.core.images import BadImageError, open_image, to_rgb


def to_tensor(image: Image.Image) -> torch.Tensor:
    """An RGB PIL image as uint8 (3, H, W) pixels (what torchvision's pil_to_tensor gives: core/grids.py says why
    stages do not import torchvision)."""
    return torch.from_numpy(np.array(image.convert("RGB"))).permute(2, 0, 1)  # its strides too: (H, W, 3) in memory


def same_size(paths: list[Path], sizes: list[tuple[int, int]]) -> None:
    """BadImageError naming the first of `paths` whose (width, height) in `sizes` is not the set's usual one."""
    usual = Counter(sizes).most_common(1)[0][0]
    for path, size in zip(paths, sizes):
        if size != usual:
            raise BadImageError(path, f"{size[0]}x{size[1]} pixels, but the other images in {path.parent} are "
                                      f"{usual[0]}x{usual[1]}; re-run the prepare stage")


def png_files(folder: Path) -> list[Path]:
    """The PNG files of `folder` in token order (numeric names by value)."""
    return sorted(folder.glob("*.png"), key=lambda p: (len(p.stem), p.stem))


def load_pngs(folder: Path) -> tuple[list[str], torch.Tensor]:
    """Names and pixels (N, 3, H, W) uint8 of every PNG in `folder`, in token order (numeric names by value);
    BadImageError for a file that does not decode or whose size differs from the others'."""
    paths = png_files(folder)
    if not paths:
        raise FileNotFoundError(f"no PNG images in {folder}; run the prepare stage first")
    arrays = [np.asarray(to_rgb(open_image(p))) for p in paths]
    same_size(paths, [(a.shape[1], a.shape[0]) for a in arrays])
    return [p.stem for p in paths], torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
