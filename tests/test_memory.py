"""Sizes that cannot fit in memory are refused in one line naming the key, before anything large is allocated
(the OOM killer ended these stages without a word): the real stages, run as DVC runs them."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import defaults
import pytest
import torch
from PIL import Image

from apeart.core.memory import inference_peak, layer_outputs
from apeart.gan.models import Generator
from apeart.gan.sample import save_generator

ROOT = Path(__file__).resolve().parents[1]
REFUSED = r"about \d+\.\d GiB needed, more than the \d+\.\d GiB of (GPU )?memory available here"
SMALL = 2 * 2**30  # bytes: a stage process with torch loaded, far below any refused need


def run_stage(name: str, folder: Path) -> tuple[int, str, int]:
    """(exit status, stderr, peak resident bytes) of `python -m apeart stages/<name>.py` in `folder`."""
    with open(folder / "stderr.txt", "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "apeart", str(ROOT / "stages" / f"{name}.py")], cwd=folder,
                                stderr=err, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, (folder / "stderr.txt").read_text(), usage.ru_maxrss * 1024


@pytest.mark.slow  # a stage process that imports torch: end to end
def test_an_oversize_style_batch_is_refused_before_it_is_drawn(tmp_path: Path) -> None:
    defaults.write(tmp_path / "params.yaml", {"sample": {"batch_size": 10**8}})
    save_generator(Generator(100, 32), 100, 32, tmp_path / "models/dcgan/generator.pt")
    status, err, peak = run_stage("sample_styles", tmp_path)
    assert status == 1 and re.fullmatch(rf"sample_styles: sample.batch_size: 100000000 images a batch: {REFUSED}\n",
                                         err), err
    assert peak < SMALL


VAEGAN = defaults.PARAMS.vaegan
TOO_LARGE = {  # stage -> (params, the refusal's start): a first layer alone of 153 GiB (G), 76 GiB (the decoder)
    "train_gan": ({"gan": {"nz": 10**7}}, rf"gan.nz, gan.ngf, gan.ndf, gan.batch_size: 10000000, 32, 32, "
                                          rf"{defaults.PARAMS.gan.batch_size} on 1 process\(es\)"),
    "train_vaegan": ({"vaegan": {"latent": 10**7}}, rf"vaegan.latent, vaegan.width, vaegan.ngf, vaegan.batch_size: "
                                                   rf"10000000, {VAEGAN.width:g}, {VAEGAN.ngf}, {VAEGAN.batch_size} "
                                                   rf"on 1 process\(es\)"),
}


@pytest.mark.slow  # a stage process that imports torch: end to end
@pytest.mark.parametrize("stage", sorted(TOO_LARGE))
def test_a_network_too_large_to_train_is_refused_before_it_is_built(stage: str, tmp_path: Path) -> None:
    params, what = TOO_LARGE[stage]
    defaults.write(tmp_path / "params.yaml", params)
    (tmp_path / "data/prepared/gan").mkdir(parents=True)
    for i in range(8):  # a training set, so only the refusal stands between the stage and training
        Image.new("RGB", (64, 64), (30 * i, 90, 160)).save(tmp_path / "data/prepared/gan" / f"{i}.png")
    status, err, peak = run_stage(stage, tmp_path)
    assert status == 1 and re.fullmatch(rf"{stage}: {what}: {REFUSED}\n", err), err
    assert peak < SMALL


def test_layer_outputs_are_the_shapes_of_each_layer_and_the_peak_a_pair_of_them_doubled() -> None:
    """DCGAN G at nz 100, ngf 32, one image: ConvTranspose, BatchNorm, in-place ReLU per block (256 x 4 x 4, 128 x 8
    x 8, 64 x 16 x 16, 32 x 32 x 32 floats), then ConvTranspose and Tanh to 3 x 64 x 64."""
    sizes = layer_outputs(Generator(100, 32), torch.empty(1, 100, 1, 1, device="meta"))
    block = [4 * c * s * s for c, s in ((256, 4), (128, 8), (64, 16), (32, 32))]
    assert sizes == [n for b in block for n in (b, b, 0)] + [4 * 3 * 64 * 64] * 2
    assert inference_peak(sizes) == 2 * (2 * 4 * 32 * 32 * 32)  # BatchNorm's input and output at 32 x 32
