"""Stage evaluate_gan: Frechet distance and KID of generated vs real images in VGG19 (and Inception) space."""
from __future__ import annotations

from pathlib import Path

import torch

from apeart.config import load_params
from apeart.files import write_json
from apeart.gan.data import load_images
from apeart.gan.models import Generator, init_weights
from apeart.gan.sample import load_generator, sample_batches
from apeart.metrics import InceptionEmbedding, VGGEmbedding, gan_scores, inception_weights_file
from apeart.runtime import deterministic, resolve_device


def main() -> None:
    params = load_params().gan
    deterministic(params.seed)
    device = resolve_device(params.device)
    real = load_images(Path("data/prepared/gan"))
    G, nz = load_generator(Path("models/dcgan/generator.pt"), device)
    untrained = Generator(nz, params.ngf)
    torch.manual_seed(params.seed)
    untrained.apply(lambda m: init_weights(m, params.init_std))
    untrained.to(device).eval()
    n = len(real) // 2
    fake = torch.cat(sample_batches(G, nz, 1, n, params.seed + 1))
    baseline = torch.cat(sample_batches(untrained, nz, 1, n, params.seed + 1))
    scores = gan_scores(VGGEmbedding(device), real, fake, baseline, params.seed)
    metrics = {f"{k}_vgg19": v for k, v in scores["trained"].items()}
    metrics.update({f"floor_{k}_vgg19": v for k, v in scores["real_floor"].items()})
    metrics.update({f"ceiling_{k}_vgg19": v for k, v in scores["untrained_ceiling"].items()})
    metrics.update(samples_per_set=n, seed=params.seed)
    if inception_weights_file().is_file():
        inception = gan_scores(InceptionEmbedding(device), real, fake, baseline, params.seed)
        metrics.update({f"{k}_inception": v for k, v in inception["trained"].items()})
        metrics["fid_note"] = "torchvision Inception-v3 weights (not the TF FID weights)"
    else:
        metrics["fid_note"] = f"standard FID skipped: {inception_weights_file().name} not in the torch cache"
    write_json(Path("metrics/gan.json"), metrics)
    print(f"evaluate_gan: fd_vgg19 {metrics['fd_vgg19']:.2f} (floor {metrics['floor_fd_vgg19']:.2f}, "
          f"untrained {metrics['ceiling_fd_vgg19']:.2f})")


if __name__ == "__main__":
    main()
