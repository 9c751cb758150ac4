"""Stage evaluate_gan: Frechet distance and KID of generated vs real images in VGG19 (and Inception) space."""
from __future__ import annotations

from pathlib import Path

from apeart.config import load_params
from apeart.files import write_json
from apeart.gan.data import load_images
from apeart.gan.evaluate import score_generator
from apeart.gan.sample import load_generator
from apeart.runtime import deterministic, resolve_device


def main() -> None:
    params = load_params().gan
    deterministic(params.seed)
    device = resolve_device(params.device)
    G, _ = load_generator(Path("models/dcgan/generator.pt"), device)
    metrics = score_generator(G, params, load_images(Path("data/prepared/gan")), device)
    write_json(Path("metrics/gan.json"), metrics)
    print(f"evaluate_gan: fd_vgg19 {metrics['fd_vgg19']:.2f} (floor {metrics['floor_fd_vgg19']:.2f}, "
          f"untrained {metrics['ceiling_fd_vgg19']:.2f})")


if __name__ == "__main__":
    main()
