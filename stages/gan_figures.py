"""Stage gan_figures: reports/gan from the trained DCGAN (models/dcgan: the generator and its fixed-noise samples
of every epoch) and the real images; figure keys (params `figures.gan_*`) re-run this stage, never training."""
from __future__ import annotations

from pathlib import Path

import torch

from apeart.core.cli import run_stage
from apeart.core.config import load_sections
from apeart.core.datasets import load_pngs
from apeart.core.files import write_bytes
from apeart.core.runtime import deterministic
from apeart.gan.figures import figures
from apeart.gan.figure_params import FiguresParams
from apeart.gan.params import GanParams
from apeart.gan.sample import load_generator, load_samples

MODELS, REPORTS = Path("models/dcgan"), Path("reports/gan")


def main() -> None:
    gan, params = load_sections(GanParams, FiguresParams)
    deterministic(gan.seed)  # the thread count: bit-identical figures
    G, nz = load_generator(MODELS / "generator.pt", torch.device("cpu"))
    samples = load_samples(MODELS / "samples.pt", "dcgan_samples")
    data = load_pngs(Path("data/prepared/gan"))[1]
    for name, content in figures(samples, G, nz, data, params, gan.seed).items():
        write_bytes(REPORTS / name, content)
    print(f"gan_figures: {len(samples) - 1} epochs of fixed-noise samples drawn into {REPORTS}")


if __name__ == "__main__":
    run_stage("gan_figures", main)
