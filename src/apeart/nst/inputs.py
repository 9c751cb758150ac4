"""Content and style images for NST as float tensors in [0, 1]."""
from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image
from torchvision.transforms.functional import pil_to_tensor

from apeart.config import NstParams
from apeart.images import open_image, resize_square, to_rgb

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}


def image_files(folder: Path) -> list[Path]:
    """Image files of `folder`, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) if folder.is_dir() else []


def _tensor(image: Image.Image) -> torch.Tensor:
    return pil_to_tensor(image).float() / 255


def load_rgb(path: Path) -> torch.Tensor:
    """One image file as a (3, H, W) float tensor in [0, 1]."""
    return _tensor(to_rgb(open_image(path)))


def _shorter_side(image: Image.Image, size: int) -> Image.Image:
    w, h = image.size
    scale = size / min(w, h)
    return image.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.LANCZOS)


def load_content(folder: Path) -> tuple[list[str], torch.Tensor]:
    """Names and a (B, 3, S, S) batch of the prepared content images."""
    files = image_files(folder)
    if not files:
        raise FileNotFoundError(f"no content images in {folder}; run the prepare stage first")
    return [f.stem for f in files], torch.stack([load_rgb(f) for f in files])


def load_styles(params: NstParams, gan_root: Path) -> list[torch.Tensor]:
    """Style images per `nst.style_source`: a GAN style batch, or every image of `nst.style_dir`."""
    if params.style_source == "gan":
        folder = gan_root / f"batch_{params.style_batch:03d}"
        files = image_files(folder)
        if not files:
            raise FileNotFoundError(f"nst.style_batch: no style batch at {folder}; is it < sample.batches?")
        return [_tensor(resize_square(to_rgb(open_image(f)), params.size)) for f in files]
    files = image_files(Path(params.style_dir))
    if not files:
        raise FileNotFoundError(f"nst.style_dir: no images in {params.style_dir!r} (style_source: images)")
    # Any mode (grayscale, palette, RGBA) becomes RGB; the shorter side is scaled to nst.size.
    return [_tensor(_shorter_side(to_rgb(open_image(f)), params.size)) for f in files]
