"""Stage evaluate_gan: Frechet distance and KID of generated vs real images in VGG19 (and Inception) space."""
from __future__ import annotations

from pathlib import Path

from apeart.core.cli import run_stage
from apeart.core.config import load_sections
from apeart.gan.evaluate_params import EvaluateParams
from apeart.gan.params import GanParams
from apeart.core.files import write_json
from apeart.core.metrics import write_metrics
from apeart.core.runtime import deterministic, resolve_device
from apeart.core.datasets import load_pngs
from apeart.gan.evaluate import score_generator
from apeart.gan.sample import load_generator


def main() -> None:
    gan, yardstick = load_sections(GanParams, EvaluateParams)
    deterministic(gan.seed)
    device = resolve_device(gan.device)
    G, _ = load_generator(Path("models/dcgan/generator.pt"), device)
    metrics, record = score_generator(G, gan, yardstick, load_pngs(Path("data/prepared/gan"))[1], device)
    write_metrics(Path("metrics/gan/quality.json"), "gan", metrics)
    write_json(Path("reports/quality/scoring.json"), record)
    print(f"evaluate_gan: fd_vgg19 {metrics['fd_vgg19']:.2f} (floor {metrics['real_floor']['fd_vgg19']:.2f}, "
          f"untrained {metrics['untrained_ceiling']['fd_vgg19']:.2f})")


if __name__ == "__main__":
    run_stage("evaluate_gan", main)
