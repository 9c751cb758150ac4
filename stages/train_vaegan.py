"""Stage train_vaegan: the Larsen et al. VAE-GAN (seed 003) on data/prepared/gan, beside the DCGAN; resumes
from the last epoch checkpoint after a crash. With vaegan.processes > 1 it runs itself under torchrun
(data-parallel); rank 0 writes the outputs: the decoder, the encoder and the fixed-noise samples of every epoch
(stage vaegan_figures draws them), the checkpoint, losses and curves."""
from __future__ import annotations

import time
from pathlib import Path

from apeart.core.checkpoint import resume_path
from apeart.core.cli import run_stage
from apeart.core.config import load_section
from apeart.vaegan.params import VaeganParams
from apeart.core.datasets import load_pngs
from apeart.core.distributed import join_training, leave, relaunch_under_torchrun, under_torchrun
from apeart.core.files import write_bytes
from apeart.core.memory import require
from apeart.core.metrics import last_epoch_mean, write_curves, write_metrics
from apeart.core.runtime import deterministic, machine, peak_rss_mb, resolve_device
from apeart.core.trainer import TrainingError
from apeart.gan.sample import save_samples
from apeart.vaegan.models import training_need
from apeart.vaegan.sample import save_decoder, save_encoder
from apeart.vaegan.train import Trainer, fingerprint

MODELS = Path("models/vaegan")


def main() -> None:
    params = load_section(VaeganParams)
    device = resolve_device(params.device)
    if not under_torchrun():  # the launching process checks what all the processes will need
        require("vaegan.latent, vaegan.width, vaegan.ngf, vaegan.batch_size", training_need(params, device),
                f"{params.latent}, {params.width:g}, {params.ngf}, {params.batch_size} on {params.processes} "
                f"process(es)", device)
    relaunch_under_torchrun("stages/train_vaegan.py", params.processes)
    rank, world, device = join_training(params.processes, device, TrainingError)
    deterministic(params.seed)
    data = load_pngs(Path("data/prepared/gan"))[1]
    if len(data) < 2:  # its latent walks go between two real apes
        raise TrainingError(f"data/prepared/gan holds {len(data)} image; the VAE-GAN needs at least 2 (data.limit)")
    checkpoint = resume_path("train_vaegan", fingerprint(params, data))
    trainer = Trainer(params, data, device, checkpoint, rank, world)
    start = time.perf_counter()
    state = trainer.run()
    seconds = time.perf_counter() - start
    leave(world)
    if rank > 0:
        return

    save_decoder(trainer.Dec, params, MODELS / "generator.pt")
    save_encoder(trainer.E, params, MODELS / "encoder.pt")
    save_samples(trainer.samples, "vaegan_samples", MODELS / "samples.pt")
    write_bytes(MODELS / "checkpoint.pt", checkpoint.read_bytes())
    write_curves(Path("metrics/vaegan/curves"), state.history, ["kl", "llike", "d_loss"])
    write_metrics(Path("metrics/vaegan/train.json"), "vaegan.train",
                  {**last_epoch_mean(state.history, ["kl", "llike", "d_loss", "d_real", "d_fake"]), **machine()})
    last = state.history[-1]
    trained = params.epochs - trainer.resumed_from
    if trained:
        print(f"train_vaegan: {seconds / trained:.1f} s per epoch, peak memory {peak_rss_mb():.0f} MiB")
    print(f"train_vaegan: {state.step} steps; last kl {last['kl']:.3g}, llike {last['llike']:.4g}, "
          f"d_loss {last['d_loss']:.3g}")
    checkpoint.unlink()


if __name__ == "__main__":
    run_stage("train_vaegan", main)
