"""What the stages use instead of torchvision (core/grids.py says why) against torchvision itself, and no stage
importing torchvision."""
from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from PIL import Image
from repo_copy import ROOT, env

from apeart.core.datasets import to_tensor
from apeart.core.grids import grid
from apeart.gan.quality import INCEPTION_WEIGHTS, InceptionEmbedding
from apeart.vgg.backbones import TORCHVISION_WEIGHTS, vgg_features

# torchvision (which imports torch's compiler, seconds) is imported by the tests that use it, not when every
# worker collects this file.


@pytest.mark.parametrize("n, nrow, padding", [(1, 8, 2), (5, 2, 2), (6, 3, 0), (7, 8, 4)])
def test_grid_is_torchvisions_make_grid_on_white(n: int, nrow: int, padding: int) -> None:
    from torchvision.utils import make_grid
    images = torch.rand(n, 3, 5, 7, generator=torch.Generator().manual_seed(n))
    assert torch.equal(grid(images, nrow, padding), make_grid(images, nrow=nrow, padding=padding, pad_value=1.0))


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "P"])
def test_to_tensor_is_pil_to_tensor_of_the_rgb_image(mode: str) -> None:
    from torchvision.transforms.functional import pil_to_tensor
    image = Image.effect_noise((6, 4), 64).convert(mode)
    ours, theirs = to_tensor(image), pil_to_tensor(image.convert("RGB"))
    assert torch.equal(ours, theirs) and ours.stride() == theirs.stride()  # the layout a convolution sees too


@pytest.mark.parametrize("arch, cfg", [("vgg19", "E"), ("vgg16", "D")])
def test_vgg_features_have_torchvisions_layout(arch: str, cfg: str) -> None:
    from torchvision.models.vgg import cfgs, make_layers
    with torch.device("meta"):
        ours, theirs = vgg_features(arch), make_layers(cfgs[cfg])
    assert [repr(m) for m in ours] == [repr(m) for m in theirs]


def test_weights_files_are_torchvisions() -> None:
    from torchvision import models
    files = {arch: getattr(models, f"{arch.upper()}_Weights").IMAGENET1K_V1.url.rsplit("/", 1)[1]
             for arch in TORCHVISION_WEIGHTS}
    assert TORCHVISION_WEIGHTS == files
    assert INCEPTION_WEIGHTS == models.Inception_V3_Weights.IMAGENET1K_V1.url.rsplit("/", 1)[1]


def test_the_inception_yardstick_loads_cached_weights(tmp_path, monkeypatch) -> None:
    from torchvision import models
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    torch.manual_seed(0)
    reference = models.inception_v3(weights=None, aux_logits=True, init_weights=False).eval()
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    torch.save(reference.state_dict(), tmp_path / "hub" / "checkpoints" / INCEPTION_WEIGHTS)
    images = torch.randint(0, 256, (2, 3, 299, 299), dtype=torch.uint8)
    reference.fc = torch.nn.Identity()
    mean, std = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        expected = reference((images.float() / 255 - mean) / std).double()
    assert torch.allclose(InceptionEmbedding(torch.device("cpu"))(images), expected, atol=1e-5)


def test_no_stage_imports_torchvision() -> None:
    """Every stage script's imports, in one process: torchvision stays out (it is only the Inception yardstick's)."""
    code = ("import apeart, importlib.util, pathlib, sys\n"
            "for path in sorted(pathlib.Path('stages').glob('*.py')):\n"
            "    spec = importlib.util.spec_from_file_location(path.stem, path)\n"
            "    spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
            "    if 'torchvision' in sys.modules: sys.exit(f'{path} imports torchvision')\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env(), capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
