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
    skipped = prepare_images(sorted(raw.iterdir()), tmp_path / "out", 16, workers=2)
    assert sorted(s["file"] for s in skipped) == ["2.png", "3.png"]
    assert all(s["reason"] for s in skipped)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["1.png"]
    out = Image.open(tmp_path / "out" / "1.png")
    assert out.size == (16, 16) and out.mode == "RGB" and out.getpixel((8, 8)) == (10, 200, 30)
