"""Content and style images for NST as float tensors in [0, 1]."""
from __future__ import annotations

import math
from pathlib import Path

import torch
from PIL import Image

from apeart.core.config import ParamsError
from apeart.nst.params import NstParams
from apeart.core.datasets import same_size, to_tensor
from apeart.core.grids import fit, grid, square
from apeart.core.images import open_image, resize_square, to_rgb
from apeart.vgg.backbones import MIN_SIDE

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}


def image_files(folder: Path) -> list[Path]:
    """Image files of `folder`, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) if folder.is_dir() else []


def _rgb(image: Image.Image) -> Image.Image:
    """`to_rgb` (core/images.py: 16-bit grayscale scaled to 8 bits, LAB converted, the one conversion prepare uses)."""
    return to_rgb(image)


def _tensor(image: Image.Image) -> torch.Tensor:
    return to_tensor(image).float() / 255


def load_rgb(path: Path) -> torch.Tensor:
    """One image file as a (3, H, W) float tensor in [0, 1]."""
    return _tensor(_rgb(open_image(path)))


def load_square(path: Path, side: int) -> torch.Tensor:
    """One image file prepared as prepare does (RGB, square crop, resized to `side`): (3, side, side) in [0, 1]."""
    return _tensor(resize_square(_rgb(open_image(path)), side))


MAX_ASPECT = 4.0  # longer side at most this many times the shorter; longer images are centre-cropped


def _shorter_side(image: Image.Image, size: int) -> Image.Image:
    """Centre-crop to an aspect ratio <= MAX_ASPECT, then scale the shorter side to `size` (>= MIN_SIDE)."""
    w, h = image.size
    if max(w, h) > MAX_ASPECT * min(w, h):
        keep = round(MAX_ASPECT * min(w, h))
        left, top = (w - min(w, keep)) // 2, (h - min(h, keep)) // 2
        image = image.crop((left, top, left + min(w, keep), top + min(h, keep)))
        w, h = image.size
    size = max(size, MIN_SIDE)
    scale = size / min(w, h)
    return image.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.LANCZOS)


def style_side(params: NstParams) -> int:
    """Shorter side of the style images: nst.size x nst.style_scale."""
    return max(MIN_SIDE, round(params.size * params.style_scale))


def load_content(folder: Path) -> tuple[list[str], torch.Tensor]:
    """Names and a (B, 3, S, S) batch of the prepared content images."""
    files = image_files(folder)
    if not files:
        raise FileNotFoundError(f"no content images in {folder}; run the prepare stage first")
    images = [load_rgb(f) for f in files]
    same_size(files, [(image.shape[2], image.shape[1]) for image in images])
    return [f.stem for f in files], torch.stack(images)


def load_styles(params: NstParams, gan_root: Path) -> list[torch.Tensor]:
    """The style images of nst.style_source (nst.style_batch or nst.style_dir) at nst.size x nst.style_scale."""
    return style_images(params.style_source, params.style_batch, Path(params.style_dir), style_side(params), gan_root)


def style_images(source: str, batch: int, style_dir: Path, side: int, gan_root: Path) -> list[torch.Tensor]:
    """Style images of `source`: GAN style batch `batch` under `gan_root`, or every image of `style_dir`.

    GAN styles are square at `side`; paintings keep their aspect ratio (at most MAX_ASPECT) with the
    shorter side at `side`. Any mode (grayscale, palette, RGBA, CMYK, 16-bit) becomes RGB, transparency
    composited onto the first opaque pixel's colour.
    """
    if source == "gan":
        folder = gan_root / f"batch_{batch:03d}"
        files = image_files(folder)
        if not files:
            raise ParamsError(f"style_batch: no style batch at {folder}; is it < sample.batches?")
        return [load_square(f, side) for f in files]
    files = image_files(style_dir)
    if not files:
        raise ParamsError(f"nst.style_dir: no images in {str(style_dir)!r} (style_source: images)")
    return [_tensor(_shorter_side(_rgb(open_image(f)), side)) for f in files]


def load_inputs(params: NstParams, data: Path = Path("data")) -> tuple[list[str], torch.Tensor, list[torch.Tensor]]:
    """The prepared content batch (names, images) and the style images `params` select, as stages use them."""
    names, content = load_content(data / "prepared" / "content")
    return names, content, load_styles(params, data / "styles" / "gan")


def style_tile(styles: list[torch.Tensor], size: int) -> torch.Tensor:
    """The style images, centre-cropped to squares, as one square (3, H, W) tile of a near-square grid."""
    return grid(torch.stack([fit(square(s), size) for s in styles]), nrow=math.ceil(len(styles) ** 0.5))
