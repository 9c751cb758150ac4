"""Stage evaluate_vaegan: the VAE-GAN's samples scored with evaluate_gan's yardstick (same fd_vgg19 and KID,
reference and floor sets, sample counts and seeds) into metrics/vaegan/quality.json, under the DCGAN's key names."""
from __future__ import annotations

from pathlib import Path

from apeart.core.cli import run_stage
from apeart.core.config import load_sections
from apeart.gan.evaluate_params import EvaluateParams
from apeart.gan.params import GanParams
from apeart.vaegan.params import VaeganParams
from apeart.core.datasets import load_pngs
from apeart.core.files import write_json
from apeart.core.metrics import write_metrics
from apeart.core.runtime import deterministic, resolve_device
from apeart.vaegan.evaluate import score_decoder
from apeart.vaegan.sample import load_decoder


def main() -> None:
    gan, yardstick, vaegan = load_sections(GanParams, EvaluateParams, VaeganParams)
    deterministic(gan.seed)  # the yardstick's seed, as in evaluate_gan
    device = resolve_device(vaegan.device)
    Dec, latent = load_decoder(Path("models/vaegan/generator.pt"), device)
    metrics, record = score_decoder(Dec, latent, gan, yardstick, load_pngs(Path("data/prepared/gan"))[1],
                                    device)
    write_metrics(Path("metrics/vaegan/quality.json"), "vaegan", metrics)
    write_json(Path("reports/quality_vaegan/scoring.json"), {"model": "vaegan", **record})
    print(f"evaluate_vaegan: fd_vgg19 {metrics['fd_vgg19']:.2f} (floor {metrics['real_floor']['fd_vgg19']:.2f}, "
          f"untrained {metrics['untrained_ceiling']['fd_vgg19']:.2f})")


if __name__ == "__main__":
    run_stage("evaluate_vaegan", main)
