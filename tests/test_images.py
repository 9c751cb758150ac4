"""Tests for safe image decoding, compositing and resizing."""

from __future__ import annotations

import io
import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from apeart.core.images import MAX_BYTES, BadImageError, open_image, resize_square, to_rgb


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def test_open_image_loads_valid_png(tmp_path) -> None:
    path = tmp_path / "ok.png"
    path.write_bytes(_png(Image.new("RGBA", (20, 10), (1, 2, 3, 255))))
    img = open_image(path)
    assert img.size == (20, 10) and img.mode == "RGBA"
    assert img.getpixel((5, 5)) == (1, 2, 3, 255)


def test_truncated_png_is_bad(tmp_path) -> None:
    path = tmp_path / "cut.png"
    noise = Image.frombytes("RGB", (64, 64), os.urandom(64 * 64 * 3))
    data = _png(noise)
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BadImageError, match="cut.png"):
        open_image(path)


@pytest.mark.parametrize("content", [b"", os.urandom(2048)], ids=["empty", "random"])
def test_unreadable_content_is_bad(tmp_path, content: bytes) -> None:
    path = tmp_path / "junk.png"
    path.write_bytes(content)
    with pytest.raises(BadImageError) as info:
        open_image(path)
    assert info.value.path == path and isinstance(info.value, ValueError)


def test_missing_file_is_bad(tmp_path) -> None:
    with pytest.raises(BadImageError, match="unreadable"):
        open_image(tmp_path / "missing.png")


def test_what_is_not_a_regular_file_is_bad_without_reading_it(tmp_path) -> None:
    os.mkfifo(tmp_path / "fifo.png")  # reading it would block until a writer came
    (tmp_path / "zero.png").symlink_to("/dev/zero")  # reading it would fill the memory
    for name in ("fifo.png", "zero.png"):
        with pytest.raises(BadImageError, match=f"{name}: not a regular file"):
            open_image(tmp_path / name)


def test_a_file_over_the_byte_cap_is_bad(tmp_path) -> None:
    path = tmp_path / "huge.png"
    with path.open("wb") as f:
        f.write(_png(Image.new("RGB", (4, 4))))
        f.truncate(MAX_BYTES + 1)  # sparse: no disk used
    with pytest.raises(BadImageError, match=f"larger than {MAX_BYTES} bytes"):
        open_image(path)


def test_png_header_claiming_huge_size_is_bomb(tmp_path) -> None:
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    path = tmp_path / "bomb.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IEND", b""))
    with pytest.raises(BadImageError, match="decompression bomb"):
        open_image(path)


def test_max_pixels_limit_is_an_error(tmp_path) -> None:
    path = tmp_path / "big.png"
    path.write_bytes(_png(Image.new("RGB", (100, 100))))
    with pytest.raises(BadImageError, match="100x100 exceeds 5000 pixels"):
        open_image(path, max_pixels=5000)
    assert open_image(path, max_pixels=10_000).size == (100, 100)


def test_rgba_composited_on_first_opaque_pixel() -> None:
    img = Image.new("RGBA", (2, 2))
    img.putdata([(10, 20, 30, 255), (200, 100, 0, 128), (0, 0, 0, 0), (50, 60, 70, 255)])
    out = to_rgb(img)
    assert out.mode == "RGB"
    assert out.getpixel((0, 0)) == (10, 20, 30)
    # 128/255 of the pixel over 127/255 of the background
    expected = (round(200 * 128 / 255 + 10 * 127 / 255), round(100 * 128 / 255 + 20 * 127 / 255), round(30 * 127 / 255))
    assert all(abs(a - b) <= 1 for a, b in zip(out.getpixel((1, 0)), expected))
    assert out.getpixel((0, 1)) == (10, 20, 30)
    assert out.getpixel((1, 1)) == (50, 60, 70)


def test_rgba_explicit_background_and_fully_transparent() -> None:
    img = Image.new("RGBA", (2, 1))
    img.putdata([(0, 0, 0, 0), (255, 0, 0, 64)])
    assert to_rgb(img, background=(0, 0, 255)).getpixel((0, 0)) == (0, 0, 255)
    out = to_rgb(img)  # nothing opaque: white
    assert out.getpixel((0, 0)) == (255, 255, 255)
    r, g, b = out.getpixel((1, 0))
    assert r == 255 and abs(g - 191) <= 1 and abs(b - 191) <= 1


def test_palette_with_transparency() -> None:
    img = Image.new("P", (3, 1))
    img.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0])
    img.putdata([0, 1, 2])
    img.info["transparency"] = 0
    img = Image.open(io.BytesIO(_png(img)))
    out = to_rgb(img)
    assert [out.getpixel((x, 0)) for x in range(3)] == [(255, 0, 0), (255, 0, 0), (0, 255, 0)]


def test_grayscale_and_cmyk_to_rgb() -> None:
    gray = Image.new("L", (4, 4), 77)
    assert to_rgb(gray).mode == "RGB" and to_rgb(gray).getpixel((1, 1)) == (77, 77, 77)
    cmyk = Image.new("CMYK", (4, 4), (0, 255, 255, 0))
    assert to_rgb(cmyk).getpixel((0, 0)) == (255, 0, 0)


def test_resize_square_center_crops() -> None:
    img = Image.new("RGB", (300, 200), (0, 0, 255))
    img.paste((0, 255, 0), (50, 0, 250, 200))
    out = resize_square(img, 64)
    assert out.size == (64, 64) and out.mode == "RGB"
    assert out.getcolors() == [(64 * 64, (0, 255, 0))]
    assert resize_square(Image.new("RGBA", (10, 40)), 16).size == (16, 16)


def _dds(size: int = 4900) -> bytes:
    """A DDS file with a pixel format PIL does not implement (its decoder raises NotImplementedError)."""
    pixel_format = struct.pack("<II4sIIIII", 32, 0x4, b"XYZW", 0, 0, 0, 0, 0)
    header = struct.pack("<7I", 124, 0x1007, 32, 32, 0, 0, 0) + b"\0" * 44 + pixel_format + struct.pack("<5I", 0x1000, 0, 0, 0, 0)
    return b"DDS " + header + b"\0" * (size - 128)


def _tiff(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="TIFF")
    return buf.getvalue()


def test_a_dds_named_png_is_a_bad_image_not_a_crash(tmp_path) -> None:
    path = tmp_path / "7.png"
    path.write_bytes(_dds())
    with pytest.raises(BadImageError, match="not an image of a known format"):
        open_image(path)


@pytest.mark.parametrize("content", [b"<html>not an image</html>", _dds()], ids=["html", "dds"])
def test_skip_reasons_hold_no_memory_address(tmp_path, content: bytes) -> None:
    path = tmp_path / "x.png"
    path.write_bytes(content)
    reasons = set()
    for _ in range(2):
        with pytest.raises(BadImageError) as info:
            open_image(path)
        reasons.add(info.value.reason)
    assert len(reasons) == 1 and " at 0x" not in reasons.pop()


def test_sixteen_bit_gray_mid_gray_stays_mid_gray(tmp_path) -> None:
    path = tmp_path / "gray16.png"
    path.write_bytes(_png(Image.fromarray(np.full((8, 8), 32768, np.uint16))))
    assert to_rgb(open_image(path)).getpixel((3, 3)) == (127, 127, 127)
    path.write_bytes(_tiff(Image.fromarray(np.full((8, 8), 65535, np.uint16))))
    assert to_rgb(open_image(path)).getpixel((3, 3)) == (255, 255, 255)


def test_lab_is_converted_through_a_colour_transform(tmp_path) -> None:
    path = tmp_path / "lab.tif"
    path.write_bytes(_tiff(Image.new("LAB", (8, 8), (128, 128, 128))))  # L* 50, a* = b* = 0: sRGB ~119 gray
    r, g, b = to_rgb(open_image(path)).getpixel((0, 0))
    assert abs(r - 119) <= 2 and r == g == b


@pytest.mark.parametrize("mode", ["F", "I"])
def test_float_and_32_bit_integer_samples_are_refused_with_a_reason(tmp_path, mode: str) -> None:
    path = tmp_path / f"{mode}.tif"
    path.write_bytes(_tiff(Image.new(mode, (8, 8), 1)))
    with pytest.raises(BadImageError, match=f"pixel mode {mode}"):
        open_image(path)
    with pytest.raises(ValueError, match="no defined range"):
        to_rgb(Image.new(mode, (8, 8), 1))
