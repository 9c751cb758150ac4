"""Stage vaegan_figures: reports/vaegan from the trained VAE-GAN (models/vaegan: decoder, encoder and the
decoder's fixed-noise samples of every epoch) and the real images; figure keys (params `figures.vaegan_*`)
re-run this stage, never training."""
from __future__ import annotations

from pathlib import Path

import torch

from apeart.core.cli import run_stage
from apeart.core.config import load_sections
from apeart.core.datasets import load_pngs
from apeart.core.files import write_bytes
from apeart.core.runtime import deterministic
from apeart.gan.figure_params import FiguresParams
from apeart.gan.sample import load_samples
from apeart.vaegan.figures import figures
from apeart.vaegan.params import VaeganParams
from apeart.vaegan.sample import load_decoder, load_encoder

MODELS, REPORTS = Path("models/vaegan"), Path("reports/vaegan")


def main() -> None:
    vaegan, params = load_sections(VaeganParams, FiguresParams)
    deterministic(vaegan.seed)  # the thread count: bit-identical figures
    cpu = torch.device("cpu")  # a few forward passes
    Dec, _ = load_decoder(MODELS / "generator.pt", cpu)
    E = load_encoder(MODELS / "encoder.pt", cpu)
    samples = load_samples(MODELS / "samples.pt", "vaegan_samples")
    data = load_pngs(Path("data/prepared/gan"))[1]
    for name, content in figures(samples, E, Dec, data, params, vaegan.seed, cpu).items():
        write_bytes(REPORTS / name, content)
    print(f"vaegan_figures: {len(samples) - 1} epochs of fixed-noise samples drawn into {REPORTS}")


if __name__ == "__main__":
    run_stage("vaegan_figures", main)
