"""The GAN yardstick is pinned (issue 16): quality can only improve by improving the generator.

Issue 16 does not change the evaluation (evaluate_gan's code and params, the VGG features, KID subsets,
sample counts), the demo generator or the data params. This test pins their sha256: the source files'
bytes, the VGG block layout in config, and the `evaluate:` and `data:` sections of params.yaml parsed and
dumped as canonical JSON (sorted keys, no spaces), so comments and layout may change but values may not.

To change the yardstick deliberately: make the change in its own commit that says why, re-run
evaluate_gan for every generator the README compares (the old figures are not comparable with the new
ones), then paste the new digests printed by the failure message into PINNED below.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from apeart.core.config import VGG_BLOCKS

ROOT = Path(__file__).resolve().parents[1]

PINNED = {
    "stages/evaluate_gan.py": "b3f220c2514231df5382f1b033dee29760c64163edc099c309a1a8b0c9625625",
    "src/apeart/gan/evaluate.py": "22b227cd82af0ac12678d18ec40769169f4c9837d0db961190ab642a7fe33782",
    "src/apeart/gan/quality.py": "73ee1b5415e55f0a256eba55d01fd63e529505a5f779077b75547f85659ebd34",
    "src/apeart/vgg/backbones.py": "deaeb871dccacc107efc77e8e1655966f24bcb7cd1fca335d81f73a224bd43bd",
    "src/apeart/collection/demo.py": "83f7db6f5d32ec4a25ad6d85f370367d06e61341c7a564d2bdfbbb50cd25d76f",
    "params.yaml:evaluate": "afe529a4ec2b8addb6aef6010efb37c0241af23a8139dd43f29e2fba416ba9d9",
    "params.yaml:data": "e37608e297315402e5770ba789527183cc13fe1746b679e353437bdcab034fe3",
    "config:VGG_BLOCKS": "d37bb5020207adabe0e17581d5e112ec8102f18fa19b05dc28b50fbdbd525c20",
}


def canonical(section: object) -> bytes:
    return json.dumps(section, sort_keys=True, separators=(",", ":")).encode()


def digest(name: str) -> str:
    if name == "config:VGG_BLOCKS":  # the VGG layer layout the features are read from (backbones.py uses it)
        return hashlib.sha256(canonical(VGG_BLOCKS)).hexdigest()
    if name.startswith("params.yaml:"):
        params = yaml.safe_load((ROOT / "params.yaml").read_text())
        return hashlib.sha256(canonical(params[name.split(":", 1)[1]])).hexdigest()
    return hashlib.sha256((ROOT / name).read_bytes()).hexdigest()


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


def test_canonical_form_ignores_comments_and_layout() -> None:
    a = yaml.safe_load("evaluate:  # c\n  samples: 512\n  layer: conv5_1\n")["evaluate"]
    b = yaml.safe_load("evaluate: {layer: conv5_1, samples: 512}\n")["evaluate"]
    assert canonical(a) == canonical(b)
