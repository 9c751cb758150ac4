"""Image utilities for prepare/NST: safe decoding, alpha compositing, square resizing (torch-free)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms

from apeart.core.files import read_capped
from apeart.core.errors import ApeartError

MAX_PIXELS = 40_000_000
MAX_BYTES = 256 * 2**20  # a 40 Mpx RGBA image, uncompressed, is 160 MB
WHITE = (255, 255, 255)
FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF")  # what a collection or a style folder can hold
SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N")
# Modes `to_rgb` converts correctly; others (32-bit int or float samples) have no defined white level.
RGB_MODES = {"1", "L", "P", "RGB", "RGBA", "RGBX", "RGBa", "LA", "La", "PA", "CMYK", "YCbCr", "LAB", "HSV", *SIXTEEN_BIT}


class BadImageError(ApeartError, ValueError):
    """An image file that cannot be used: unreadable, empty, corrupt, truncated or too large."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"bad image {self.path}: {reason}")


def open_image(path: str | Path, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode `path` fully into memory, raising BadImageError for empty, corrupt, truncated or oversized files
    and for what is not a regular file (a FIFO would block, /dev/zero never ends)."""
    path = Path(path)
    try:
        data = read_capped(path, MAX_BYTES)
    except OSError as exc:
        raise BadImageError(path, f"unreadable ({exc.strerror or exc})") from exc
    except ValueError as exc:
        raise BadImageError(path, str(exc)) from None
    if not data:
        raise BadImageError(path, "empty file")
    try:
        img = Image.open(io.BytesIO(data), formats=FORMATS)
        if img.width * img.height > max_pixels:
            raise BadImageError(path, f"decompression bomb: {img.width}x{img.height} exceeds {max_pixels} pixels")
        img.load()
    except Image.DecompressionBombError as exc:
        raise BadImageError(path, f"decompression bomb: {exc}") from exc
    except BadImageError:
        raise
    except Image.UnidentifiedImageError:
        raise BadImageError(path, f"not an image of a known format ({', '.join(FORMATS)})") from None
    except Exception as exc:  # any decoder failure (PIL raises OSError, ValueError, NotImplementedError, ...)
        detail = re.sub(r"<[^<>]* at 0x[0-9a-fA-F]+>", "<data>", str(exc))  # no memory addresses in reasons
        raise BadImageError(path, f"cannot decode: {type(exc).__name__}: {detail}") from exc
    if not _convertible(img):
        raise BadImageError(path, f"pixel mode {img.mode} ({img.format}): 32-bit integer or float samples "
                                  "have no defined range; save it with 8 or 16 bits per channel")
    return img


def _convertible(img: Image.Image) -> bool:
    return img.mode in RGB_MODES or (img.mode == "I" and img.format == "PNG")  # older Pillow: 16-bit PNG gray as I


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info


def _first_opaque_colour(rgba: Image.Image) -> tuple[int, int, int]:
    """Colour of the first fully opaque pixel in row-major order (BAYC: the top-left background), else white."""
    pixels = np.asarray(rgba)
    opaque = np.flatnonzero(pixels[..., 3] == 255)
    if opaque.size == 0:
        return WHITE
    r, g, b, _ = pixels.reshape(-1, 4)[opaque[0]]
    return int(r), int(g), int(b)


def to_rgb(img: Image.Image, background: tuple[int, int, int] | None = None) -> Image.Image:
    """Return an 8-bit RGB image; transparency is composited onto `background` (default: first opaque pixel's
    colour), 16-bit gray scaled to 8 bits, LAB converted through a colour transform; ValueError for 32-bit
    integer or float samples (open_image refuses those files)."""
    if not _convertible(img):
        raise ValueError(f"pixel mode {img.mode}: no defined range to convert to 8-bit RGB")
    if img.mode in SIXTEEN_BIT or img.mode == "I":
        img = Image.fromarray((np.asarray(img, dtype=np.float64) / 257).clip(0, 255).astype(np.uint8), "L")
    if img.mode == "LAB":
        return ImageCms.applyTransform(img, _lab_to_srgb())
    if not _has_alpha(img):
        return img if img.mode == "RGB" else img.convert("RGB")
    rgba = img.convert("RGBA")
    colour = background if background is not None else _first_opaque_colour(rgba)
    base = Image.new("RGBA", rgba.size, (*colour, 255))
    return Image.alpha_composite(base, rgba).convert("RGB")


def _lab_to_srgb() -> ImageCms.ImageCmsTransform:
    return ImageCms.buildTransform(ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"), "LAB", "RGB")


def resize_square(img: Image.Image, size: int) -> Image.Image:
    """Center-crop `img` to a square and resize it to `size` x `size` with Lanczos."""
    side = min(img.size)
    left, top = (img.width - side) // 2, (img.height - side) // 2
    square = img.crop((left, top, left + side, top + side))
    return square.resize((size, size), Image.Resampling.LANCZOS)
