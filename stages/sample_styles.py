"""Stage sample_styles: seeded style batches from the trained generator into data/styles/gan/."""
from __future__ import annotations

from pathlib import Path

from apeart.core.cli import run_stage
from apeart.core.config import load_sections
from apeart.gan.params import GanParams
from apeart.gan.sample_params import SampleParams
from apeart.core.files import save_png
from apeart.core.grids import grid, to_pil
from apeart.core.memory import require
from apeart.core.runtime import deterministic, resolve_device
from apeart.gan.sample import load_generator, sample_batches, sampling_need
from apeart.vaegan.sample import load_decoder

OUT = Path("data/styles/gan")


def main() -> None:
    sample, gan = load_sections(SampleParams, GanParams)
    deterministic(sample.seed)
    # sample.model picks the generator: models/dcgan (the DCGAN) or models/vaegan (the VAE-GAN's decoder).
    load = load_decoder if sample.model == "vaegan" else load_generator
    device = resolve_device(gan.device)
    G, nz = load(Path("models") / sample.model / "generator.pt", device)
    require("sample.batch_size", sampling_need(G, nz, sample.batches, sample.batch_size), f"{sample.batch_size} images a batch",
            device)
    batches = sample_batches(G, nz, sample.batches, sample.batch_size, sample.seed)
    for b, batch in enumerate(batches):
        for i, image in enumerate(batch):
            save_png(to_pil(image), OUT / f"batch_{b:03d}" / f"{i:03d}.png")
        save_png(to_pil(grid(batch)), Path("reports/styles") / f"batch_{b:03d}.png")
    print(f"sample_styles: {len(batches)} batches of {sample.batch_size} from {sample.model}")


if __name__ == "__main__":
    run_stage("sample_styles", main)
