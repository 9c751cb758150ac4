"""Image utilities for prepare/NST: safe decoding, alpha compositing, square resizing (torch-free)."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

MAX_PIXELS = 40_000_000
WHITE = (255, 255, 255)

_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error)


class BadImageError(ValueError):
    """An image file that cannot be used: unreadable, empty, corrupt, truncated or too large."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"bad image {self.path}: {reason}")


def open_image(path: str | Path, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode `path` fully into memory, raising BadImageError for empty, corrupt, truncated or oversized files."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadImageError(path, f"unreadable ({exc.strerror or exc})") from exc
    if not data:
        raise BadImageError(path, "empty file")
    try:
        img = Image.open(io.BytesIO(data))
        if img.width * img.height > max_pixels:
            raise BadImageError(path, f"decompression bomb: {img.width}x{img.height} exceeds {max_pixels} pixels")
        img.load()
    except Image.DecompressionBombError as exc:
        raise BadImageError(path, f"decompression bomb: {exc}") from exc
    except BadImageError:
        raise
    except _DECODE_ERRORS as exc:
        raise BadImageError(path, f"cannot decode: {exc}") from exc
    return img


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
    """Return an RGB image; transparency is composited onto `background` (default: first opaque pixel's colour)."""
    if not _has_alpha(img):
        return img if img.mode == "RGB" else img.convert("RGB")
    rgba = img.convert("RGBA")
    colour = background if background is not None else _first_opaque_colour(rgba)
    base = Image.new("RGBA", rgba.size, (*colour, 255))
    return Image.alpha_composite(base, rgba).convert("RGB")


def resize_square(img: Image.Image, size: int) -> Image.Image:
    """Center-crop `img` to a square and resize it to `size` x `size` with Lanczos."""
    side = min(img.size)
    left, top = (img.width - side) // 2, (img.height - side) // 2
    square = img.crop((left, top, left + side, top + side))
    return square.resize((size, size), Image.Resampling.LANCZOS)
