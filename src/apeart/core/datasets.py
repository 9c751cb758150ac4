"""Prepared image sets, decoded once into one uint8 tensor in memory."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image


def load_pngs(folder: Path) -> tuple[list[str], torch.Tensor]:
    """Names and pixels (N, 3, H, W) uint8 of every PNG in `folder`, in token order (numeric names by value)."""
    paths = sorted(folder.glob("*.png"), key=lambda p: (len(p.stem), p.stem))
    if not paths:
        raise FileNotFoundError(f"no PNG images in {folder}; run the prepare stage first")
    arrays = [np.asarray(Image.open(p).convert("RGB")) for p in paths]
    return [p.stem for p in paths], torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
