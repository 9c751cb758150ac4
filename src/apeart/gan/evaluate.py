"""Score a generator against the real images: FD and KID in VGG19 space, between a real floor and an untrained ceiling."""
from __future__ import annotations

import torch

from apeart.core.errors import ApeartError
from apeart.gan.evaluate_params import EvaluateParams
from apeart.gan.params import GanParams
from apeart.gan.models import Generator, seeded_generator
from apeart.gan.quality import InceptionEmbedding, VGGEmbedding, gan_scores, inception_weights_file
from apeart.gan.sample import sample_batches
from apeart.vgg.backbones import file_record, weights_record

# Fewest images per set that are scored. FD's covariance (over n - 1) and KID's unbiased MMD^2 (over the
# n(n - 1) off-diagonal kernel pairs) are defined from n = 2, but at n = 2..4 they rest on a covariance of rank
# 1..3 and 1..6 distinct pairs per set: the floor, trained and ceiling scores are then noise, not a ranking.
# 5 per set (10 real images) is the least the real set may supply; the default set scores 512 (unchanged), the
# tiny test pipeline 6. A smaller evaluate.samples remains the params' choice.
MIN_SAMPLES = 5


class TooFewImagesError(ApeartError):
    """The real set is too small to score."""


def score_generator(G: Generator, params: GanParams, yardstick: EvaluateParams, real: torch.Tensor,
                    device: torch.device) -> tuple[dict[str, float], dict]:
    """(metrics, record): `fd_vgg19`, `kid_vgg19` (+ the same under `real_floor` and `untrained_ceiling`,
    Inception's when cached), and what they were computed with (samples per set, the sha256 of the weights used).

    `evaluate.samples` real images (at most half the set) are the reference; as many other real images,
    samples of G and of the untrained G of the same seed are scored, so all three carry the same bias.
    """
    half = len(real) // 2
    if half < MIN_SAMPLES:
        raise TooFewImagesError(f"only {len(real)} real images, {half} per set: scoring needs at least "
                                f"{MIN_SAMPLES} per set ({2 * MIN_SAMPLES} images); prepare more (data.limit)")
    n = min(yardstick.samples, half)
    training = G.training
    fake = torch.cat(sample_batches(G.eval(), params.nz, 1, n, params.seed + 1))  # BatchNorm: running stats
    G.train(training)
    untrained = seeded_generator(params).to(device).eval()
    baseline = torch.cat(sample_batches(untrained, params.nz, 1, n, params.seed + 1))
    kid = (yardstick.kid_subsets, yardstick.kid_subset_size)
    scores = gan_scores(VGGEmbedding(device, yardstick.layer), real, fake, baseline, params.seed, n, kid)
    metrics: dict = {f"{k}_vgg19": v for k, v in scores["trained"].items()}
    for bound in ("real_floor", "untrained_ceiling"):
        metrics[bound] = {f"{k}_vgg19": v for k, v in scores[bound].items()}
    record = {"samples_per_set": n, "weights": [weights_record("vgg19_caffe")]}
    if inception_weights_file().is_file():
        inception = gan_scores(InceptionEmbedding(device), real, fake, baseline, params.seed, n, kid)
        metrics.update({f"{k}_inception": v for k, v in inception["trained"].items()})
        record["weights"].append(file_record(inception_weights_file()))
        record["fid_note"] = "torchvision Inception-v3 weights (not the TF FID weights)"
    else:
        record["fid_note"] = f"standard FID skipped: {inception_weights_file().name} not in the torch cache"
    return metrics, record
