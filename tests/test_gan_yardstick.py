"""The GAN yardstick is pinned (issue 16): quality can only improve by improving the generator.

Its behaviour is pinned by golden values: the scores of a fixed tiny generator on fixed images (the yardstick's
code path end to end: sampling, VGG19 features, FD and KID, the real floor and the untrained ceiling), so a
refactor that keeps the numbers passes. The `evaluate:` and `data:` sections of params.yaml and the VGG block
layout are pinned by sha256 of their values (canonical JSON: comments and layout may change, values may not).

To change the yardstick deliberately: make the change in its own commit that says why, re-run evaluate_gan for
every generator the docs compare (the old figures are not comparable with the new ones), then update GOLDEN or
PINNED below with the values the failure prints.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import dataclasses

import defaults
import pytest
import torch
import yaml

from apeart.vgg.layers import VGG_BLOCKS
from apeart.core.runtime import deterministic
from apeart.gan.evaluate import score_generator
from apeart.gan.models import seeded_generator

ROOT = Path(__file__).resolve().parents[1]

PINNED = {
    "params.yaml:evaluate": "afe529a4ec2b8addb6aef6010efb37c0241af23a8139dd43f29e2fba416ba9d9",
    "params.yaml:data": "e37608e297315402e5770ba789527183cc13fe1746b679e353437bdcab034fe3",
    "vgg.layers:VGG_BLOCKS": "d37bb5020207adabe0e17581d5e112ec8102f18fa19b05dc28b50fbdbd525c20",
}
# score_generator of seeded_generator(nz 16, ngf 8, seed 1) against 12 seeded random 64-px images, 6 per set,
# 5 KID subsets of 5 (gan.seed 0); computed with 604961e's yardstick code (only its key names moved since).
GOLDEN = {"fd_vgg19": 59.004613540817566, "kid_vgg19": 0.3812340795993805,
          "real_floor": {"fd_vgg19": 3.9482038345414114, "kid_vgg19": -0.0012616267194971442},
          "untrained_ceiling": {"fd_vgg19": 58.963332772225215, "kid_vgg19": 0.38099461793899536}}


def canonical(section: object) -> bytes:
    return json.dumps(section, sort_keys=True, separators=(",", ":")).encode()


def digest(name: str) -> str:
    if name == "vgg.layers:VGG_BLOCKS":  # the VGG layer layout the features are read from (backbones.py uses it)
        return hashlib.sha256(canonical(VGG_BLOCKS)).hexdigest()
    if name.startswith("params.yaml:"):
        params = yaml.safe_load((ROOT / "params.yaml").read_text())
        return hashlib.sha256(canonical(params[name.split(":", 1)[1]])).hexdigest()
    raise KeyError(name)


@pytest.mark.parametrize("name", sorted(PINNED))
def test_yardstick_is_pinned(name: str) -> None:
    actual = digest(name)
    assert actual == PINNED[name], (
        f"{name} changed (sha256 {actual}, pinned {PINNED[name]}). The GAN yardstick (evaluation code and "
        "params, VGG features, demo generator, data params) is fixed by issue 16 so that quality can only "
        "improve by improving the generator. If the change is deliberate: commit it on its own saying why, "
        "re-run evaluate_gan for every generator the README compares, and update PINNED in "
        f"tests/test_gan_yardstick.py to {{{name!r}: {actual!r}}}."
    )


def test_the_yardstick_scores_a_fixed_generator_as_pinned() -> None:
    gan = dataclasses.replace(defaults.PARAMS.gan, nz=16, ngf=8, seed=0)
    yardstick = dataclasses.replace(defaults.PARAMS.evaluate, samples=6, kid_subsets=5, kid_subset_size=5)
    threads = torch.get_num_threads()
    deterministic(0)  # the stage's seed and thread count
    try:
        real = torch.randint(0, 256, (12, 3, 64, 64), dtype=torch.uint8, generator=torch.Generator().manual_seed(7))
        metrics, _ = score_generator(seeded_generator(dataclasses.replace(gan, seed=1)), gan, yardstick, real,
                                     torch.device("cpu"))
    finally:
        torch.set_num_threads(threads)  # this worker's, for the tests after this one
    flat = lambda tree: {f"{b}.{k}": v for b, sub in tree.items() if isinstance(sub, dict) for k, v in sub.items()} | {  # noqa: E731
        k: v for k, v in tree.items() if not isinstance(v, dict)}
    scores = {k: v for k, v in flat(metrics).items() if k in flat(GOLDEN)}
    assert scores == pytest.approx(flat(GOLDEN), rel=1e-4, abs=1e-5), f"the yardstick now gives {scores}"


def test_canonical_form_ignores_comments_and_layout() -> None:
    a = yaml.safe_load("evaluate:  # c\n  samples: 512\n  layer: conv5_1\n")["evaluate"]
    b = yaml.safe_load("evaluate: {layer: conv5_1, samples: 512}\n")["evaluate"]
    assert canonical(a) == canonical(b)
