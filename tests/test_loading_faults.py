"""Bad model files, odd files in prepared folders and too small a real set are one clear error each, never a raw
torch, PIL or linear-algebra error, nor a silent score or black style batch from NaN weights."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

import defaults
from apeart.core.datasets import load_pngs
from apeart.core.images import BadImageError
from apeart.gan.evaluate import TooFewImagesError, score_generator
from apeart.gan.models import Generator
from apeart.gan.sample import GeneratorFileError, load_generator, save_generator
from apeart.vaegan.models import build_decoder
from apeart.vaegan.sample import load_decoder, save_decoder

ROOT = Path(__file__).resolve().parents[1]
CPU = torch.device("cpu")
VAEGAN = defaults.vaegan(decoder="dcgan", latent=4, ngf=4)


def dcgan_file(path: Path, nan: bool = False) -> Path:
    G = Generator(4, 4)
    if nan:
        torch.nn.init.constant_(G.main[0].weight, float("nan"))
    save_generator(G, 4, 4, path)
    return path


def vaegan_file(path: Path) -> Path:
    save_decoder(build_decoder(VAEGAN.decoder, VAEGAN.latent, VAEGAN.width, VAEGAN.ngf), VAEGAN, path)
    return path


@pytest.mark.parametrize("fault, reason", [
    ("missing", "no such file; run train_gan"), ("truncated", "not a readable checkpoint"),
    ("garbage", "not a readable checkpoint"), ("vaegan", "not a DCGAN generator file (it holds a VAE-GAN decoder)"),
    ("nan", "non-finite values in /state_dict/main.0.weight"),
])
def test_bad_dcgan_generator_file_is_named(tmp_path: Path, fault: str, reason: str) -> None:
    path = tmp_path / "generator.pt"
    if fault in ("truncated", "garbage"):
        good = dcgan_file(tmp_path / "good.pt").read_bytes()
        path.write_bytes(good[: len(good) // 2] if fault == "truncated" else b"not a torch file\n" * 64)
    elif fault == "vaegan":
        vaegan_file(path)
    elif fault == "nan":
        dcgan_file(path, nan=True)
    with pytest.raises(GeneratorFileError, match="^" + re.escape(f"{path}: {reason}")):
        load_generator(path, CPU)


@pytest.mark.parametrize("fault, reason", [
    ("missing", "no such file; run train_vaegan"), ("garbage", "not a readable checkpoint"),
    ("dcgan", "not a VAE-GAN decoder file (it holds a DCGAN generator)"), ("nan", "non-finite values in"),
    ("edited", "its contents do not match the digest"),
])
def test_bad_vaegan_decoder_file_is_named(tmp_path: Path, fault: str, reason: str) -> None:
    path = tmp_path / "generator.pt"
    if fault == "garbage":
        path.write_bytes(b"PK\x03\x04" + bytes(100))
    elif fault == "dcgan":
        dcgan_file(path)
    elif fault in ("nan", "edited"):
        Dec = build_decoder(VAEGAN.decoder, VAEGAN.latent, VAEGAN.width, VAEGAN.ngf)
        next(iter(Dec.parameters())).data.fill_(float("inf"))
        save_decoder(Dec, VAEGAN, path)
        if fault == "edited":  # the weights changed after saving, their digest not
            payload = torch.load(path, weights_only=True)
            next(iter(payload["state_dict"].values())).fill_(0.0)
            torch.save(payload, path)
    with pytest.raises(GeneratorFileError, match="^" + re.escape(f"{path}: {reason}")):
        load_decoder(path, CPU)


def test_good_generator_files_still_load(tmp_path: Path) -> None:
    assert load_generator(dcgan_file(tmp_path / "g.pt"), CPU)[1] == 4
    assert load_decoder(vaegan_file(tmp_path / "v.pt"), CPU)[1] == 4


@pytest.mark.slow  # a torch stage's process
def test_nan_generator_is_one_line_from_sample_styles(tmp_path: Path) -> None:
    """The stage exits 1 with one line naming the file and writes no (all-black) style batch."""
    defaults.write(tmp_path / "params.yaml", {"gan": {"nz": 4, "ngf": 4, "device": "cpu"}})
    dcgan_file(tmp_path / "models/dcgan/generator.pt", nan=True)
    out = subprocess.run([sys.executable, "-m", "apeart", str(ROOT / "stages/sample_styles.py")], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert out.returncode == 1 and "Traceback" not in out.stderr and len(lines) == 1, out.stderr
    assert lines[0].startswith("sample_styles: models/dcgan/generator.pt: non-finite values in /state_dict/")
    assert not (tmp_path / "data/styles").exists()


def pngs(folder: Path, names: list[str], size: int = 8) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        Image.new("RGB", (size, size), (10, 20, 30)).save(folder / f"{name}.png")


@pytest.mark.parametrize("odd", ["0", "7"])  # first or last in token order
def test_odd_sized_png_is_named_with_both_sizes(tmp_path: Path, odd: str) -> None:
    pngs(tmp_path, [n for n in "1234" if n != odd])
    pngs(tmp_path, [odd], size=1)
    expected = f"bad image {tmp_path / odd}.png: 1x1 pixels, but the other images in {tmp_path} are 8x8"
    with pytest.raises(BadImageError, match="^" + re.escape(expected)):
        load_pngs(tmp_path)


def test_empty_or_corrupt_png_is_named(tmp_path: Path) -> None:
    pngs(tmp_path, ["1", "2"])
    (tmp_path / "3.png").write_bytes(b"")
    with pytest.raises(BadImageError, match="^" + re.escape(f"bad image {tmp_path / '3.png'}: empty file")):
        load_pngs(tmp_path)
    (tmp_path / "3.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))
    with pytest.raises(BadImageError, match="^" + re.escape(f"bad image {tmp_path / '3.png'}: ")):
        load_pngs(tmp_path)


def test_prepared_set_loads_in_token_order(tmp_path: Path) -> None:
    pngs(tmp_path, ["10", "9", "2"])
    names, pixels = load_pngs(tmp_path)
    assert names == ["2", "9", "10"] and pixels.shape == (3, 3, 8, 8) and pixels.dtype == torch.uint8
    assert pixels[:, :, 0, 0].tolist() == [[10, 20, 30]] * 3


@pytest.mark.parametrize("count", [2, 4, 9])
def test_too_few_real_images_are_refused(count: int) -> None:
    real = torch.randint(0, 256, (count, 3, 64, 64), dtype=torch.uint8)
    params = defaults.gan(nz=4, ngf=4, device="cpu")
    with pytest.raises(TooFewImagesError, match=rf"^only {count} real images, {count // 2} per set: scoring needs "
                                                r"at least 5 per set \(10 images\)"):
        score_generator(Generator(4, 4), params, defaults.PARAMS.evaluate, real, CPU)
