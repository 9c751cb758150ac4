"""Style images of any mode and shape load as RGB tensors the network can take."""
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import defaults
from apeart.core.config import ParamsError
from apeart.nst.params import NstParams
from apeart.core.images import BadImageError
from apeart.nst.inputs import MAX_ASPECT, load_content, load_styles


def _params(folder: Path, **kw) -> NstParams:
    return defaults.nst(size=32, style_source="images", style_dir=str(folder), **kw)


def test_odd_modes_and_sizes_become_rgb(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)
    Image.fromarray(rgb).convert("L").save(tmp_path / "a_gray.png")
    Image.fromarray(rgb).convert("RGBA").save(tmp_path / "b_rgba.png")
    Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE).save(tmp_path / "c_palette.png")
    Image.fromarray(rgb).convert("P").save(tmp_path / "d_palette.gif", transparency=0)
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "e_cmyk.jpg")
    Image.fromarray(rgb).convert("1").save(tmp_path / "f_bilevel.png")
    Image.fromarray((rng.integers(0, 65535, (30, 30))).astype(np.uint16)).save(tmp_path / "g_16bit.png")
    Image.fromarray(rgb[:1, :1]).save(tmp_path / "h_one_pixel.png")
    Image.fromarray(rng.integers(0, 255, (5, 500, 3), dtype=np.uint8)).save(tmp_path / "i_strip.png")
    (tmp_path / "notes.txt").write_text("not an image")
    styles = load_styles(_params(tmp_path), Path("unused"))
    assert len(styles) == 9
    for style in styles:
        assert style.shape[0] == 3 and style.dtype == torch.float32
        assert min(style.shape[1:]) == 32 and max(style.shape[1:]) <= MAX_ASPECT * 32
        assert 0 <= style.min() and style.max() <= 1
    sixteen = styles[6]
    assert 0.3 < float(sixteen.mean()) < 0.7  # scaled from 16 bits, not clipped to white


def test_style_scale_sets_the_style_size(tmp_path: Path) -> None:
    Image.new("RGB", (80, 40), (10, 200, 30)).save(tmp_path / "s.png")
    (style,) = load_styles(_params(tmp_path, style_scale=1.5), Path("unused"))
    assert style.shape == (3, 48, 96)
    (tiny,) = load_styles(_params(tmp_path, style_scale=0.1), Path("unused"))
    assert min(tiny.shape[1:]) == 16  # never below what VGG's poolings need


def test_empty_or_missing_style_folder_is_clear(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match="nst.style_dir: no images"):
        load_styles(_params(tmp_path), Path("unused"))
    with pytest.raises(ParamsError, match="style_batch: no style batch"):
        load_styles(defaults.nst(size=32), tmp_path)


def test_shipped_paintings_load() -> None:
    folder = Path(__file__).resolve().parents[1] / "data" / "styles" / "paintings"
    styles = load_styles(_params(folder), Path("unused"))
    assert styles and all(min(s.shape[1:]) == 32 for s in styles)


def test_a_content_image_of_another_size_is_named(tmp_path: Path) -> None:
    for name, side in (("0", 16), ("1", 16), ("2", 1)):
        Image.new("RGB", (side, side), "teal").save(tmp_path / f"{name}.png")
    with pytest.raises(BadImageError, match=r"2.png: 1x1 pixels, but the other images in .* are 16x16"):
        load_content(tmp_path)
