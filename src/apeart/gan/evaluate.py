"""Score a generator against the real images: FD and KID in VGG19 space, between a real floor and an untrained ceiling."""
from __future__ import annotations

import torch

from apeart.config import GanParams
from apeart.gan.models import Generator, seeded_generator
from apeart.gan.sample import sample_batches
from apeart.metrics import InceptionEmbedding, VGGEmbedding, gan_scores, inception_weights_file


def score_generator(G: Generator, params: GanParams, real: torch.Tensor, device: torch.device) -> dict:
    """metrics/gan.json: `fd_vgg19`, `kid_vgg19` (+ floor_/ceiling_), sample counts, seed, Inception when cached.

    Half the real set is the reference; the other half, G and the untrained G of the same seed each give
    as many samples, so all three scores carry the same sample-size bias.
    """
    n = len(real) // 2
    fake = torch.cat(sample_batches(G.eval(), params.nz, 1, n, params.seed + 1))  # BatchNorm: running stats
    untrained = seeded_generator(params).to(device).eval()
    baseline = torch.cat(sample_batches(untrained, params.nz, 1, n, params.seed + 1))
    scores = gan_scores(VGGEmbedding(device), real, fake, baseline, params.seed)
    metrics: dict = {f"{k}_vgg19": v for k, v in scores["trained"].items()}
    metrics.update({f"floor_{k}_vgg19": v for k, v in scores["real_floor"].items()})
    metrics.update({f"ceiling_{k}_vgg19": v for k, v in scores["untrained_ceiling"].items()})
    metrics.update(samples_per_set=n, seed=params.seed)
    if inception_weights_file().is_file():
        inception = gan_scores(InceptionEmbedding(device), real, fake, baseline, params.seed)
        metrics.update({f"{k}_inception": v for k, v in inception["trained"].items()})
        metrics["fid_note"] = "torchvision Inception-v3 weights (not the TF FID weights)"
    else:
        metrics["fid_note"] = f"standard FID skipped: {inception_weights_file().name} not in the torch cache"
    return metrics
