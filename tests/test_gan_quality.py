"""The GAN metrics move the right way: as a short real training run proceeds, fd_vgg19 falls from the untrained G's."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

import defaults
from apeart.collection.demo import render, traits_for
from apeart.core.datasets import to_tensor
from apeart.gan.evaluate import score_generator
from apeart.gan.train import Trainer
from apeart.prepare import GAN_SIZE

pytestmark = pytest.mark.slow  # `pytest -m 'not slow'` is the fast inner loop

CPU = torch.device("cpu")


def test_scores_improve_with_training(tmp_path: Path) -> None:
    # 128 demo apes drawn at the DCGAN's 64 px (the pipeline draws 631 px and prepare shrinks them: the same apes)
    data = torch.stack([to_tensor(render(traits_for(token, 0), GAN_SIZE)) for token in range(128)])
    params = defaults.gan(epochs=16, batch_size=8, ngf=16, ndf=16, device="cpu")
    trainer = Trainer(params, data, CPU, tmp_path / "checkpoint.pt")
    scores = {}
    for epochs in (4, 16):  # after 64 and 256 steps of one run
        trainer.run(until=epochs)
        scores[epochs], record = score_generator(trainer.sampler, params, defaults.PARAMS.evaluate, data, CPU)
    short, longer = scores[4], scores[16]
    print({e: {k: round(v, 3) for k, v in m.items() if isinstance(v, float)} for e, m in scores.items()})
    assert record["samples_per_set"] == 64 and len(record["weights"][0]["sha256"]) == 64
    # Same seed, same untrained G and real halves at both scorings: only the trained score may differ.
    assert short["untrained_ceiling"]["fd_vgg19"] == longer["untrained_ceiling"]["fd_vgg19"]
    assert short["real_floor"]["fd_vgg19"] == longer["real_floor"]["fd_vgg19"]
    assert longer["real_floor"]["fd_vgg19"] < longer["fd_vgg19"] < short["fd_vgg19"] < short["untrained_ceiling"]["fd_vgg19"]
    assert longer["fd_vgg19"] < 0.9 * longer["untrained_ceiling"]["fd_vgg19"]
    assert longer["real_floor"]["kid_vgg19"] < longer["kid_vgg19"] < short["kid_vgg19"] < short["untrained_ceiling"]["kid_vgg19"]
