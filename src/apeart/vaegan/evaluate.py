"""Score the VAE-GAN's decoder with the DCGAN's yardstick: `apeart.gan.evaluate.score_generator` itself.

The decoder takes z as (B, latent, 1, 1), so score_generator samples it like a DCGAN generator; it is handed the
GAN params with `nz` set to the decoder's latent size and nothing else changed, so the real reference and floor
sets, sample counts, seeds and the feature layer are the DCGAN's. The ceiling (the untrained generator) is the
untrained DCGAN generator of `gan.seed` and `gan.ngf` drawing from that latent size: for the default latent 128 vs
the DCGAN's nz 100 it differs from metrics/gan/quality.json's ceiling by a few units; the floor is identical.
"""
from __future__ import annotations

import dataclasses

import torch
from torch import nn

from apeart.gan.evaluate_params import EvaluateParams
from apeart.gan.params import GanParams
from apeart.gan.evaluate import score_generator


def score_decoder(Dec: nn.Module, latent: int, gan: GanParams, yardstick: EvaluateParams, real: torch.Tensor,
                  device: torch.device) -> tuple[dict[str, float], dict]:
    """(metrics, record) under the same key names as metrics/gan/quality.json."""
    return score_generator(Dec, dataclasses.replace(gan, nz=latent), yardstick, real, device)
