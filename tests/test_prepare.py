"""prepare: good images resized, bad ones skipped with a reason."""
from pathlib import Path

from PIL import Image

from apeart.prepare import prepare_images


def test_bad_images_are_reported_and_skipped(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    Image.new("RGBA", (100, 80), (10, 200, 30, 255)).save(raw / "1.png")
    good = (raw / "1.png").read_bytes()
    (raw / "2.png").write_bytes(good[: len(good) // 2])
    (raw / "3.png").write_bytes(b"<html>not an image</html>")
    skipped = prepare_images(sorted(raw.iterdir()), {tmp_path / "out": 16, tmp_path / "big": 24}, workers=2)
    assert sorted(s["file"] for s in skipped) == ["2.png", "3.png"]
    assert all(s["reason"] for s in skipped)
    for folder, size in (("out", 16), ("big", 24)):  # each size of one decode
        assert [p.name for p in (tmp_path / folder).iterdir()] == ["1.png"]
        out = Image.open(tmp_path / folder / "1.png")
        assert out.size == (size, size) and out.mode == "RGB" and out.getpixel((8, 8)) == (10, 200, 30)


def test_odd_files_are_skipped_and_the_rest_prepared(tmp_path: Path) -> None:
    """A DDS named .png (PIL raises NotImplementedError), float TIFF samples: skipped with a reason, every
    other image prepared; 16-bit gray keeps its level (mid-gray -> 127, as the NST loader gives)."""
    import io

    import numpy as np
    from test_images import _dds

    raw = tmp_path / "raw"
    raw.mkdir()
    for i in range(60):
        Image.new("RGB", (20, 20), (i, 100, 200)).save(raw / f"{i}.png")
    (raw / "60.png").write_bytes(_dds())
    buf = io.BytesIO()
    Image.new("F", (20, 20), 0.5).save(buf, format="TIFF")
    (raw / "61.png").write_bytes(buf.getvalue())
    Image.fromarray(np.full((20, 20), 32768, np.uint16)).save(raw / "62.png")
    skipped = prepare_images(sorted(raw.iterdir()), {tmp_path / "out": 8}, workers=2)
    assert {s["file"]: s["reason"].split(":")[0] for s in skipped} == {
        "60.png": "not an image of a known format (PNG, JPEG, GIF, WEBP, BMP, TIFF)", "61.png": "pixel mode F (TIFF)"}
    assert len(list((tmp_path / "out").iterdir())) == 61
    assert Image.open(tmp_path / "out" / "62.png").getpixel((4, 4)) == (127, 127, 127)
