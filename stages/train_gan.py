"""Stage train_gan: DCGAN on data/prepared/gan; resumes from the last epoch checkpoint after a crash. With
gan.processes > 1 it runs itself under torchrun (data-parallel); rank 0 writes the outputs: the generator, the
fixed-noise samples of every epoch (stage gan_figures draws them), the checkpoint, losses and curves."""
from __future__ import annotations

import sys
from pathlib import Path

from apeart.core.checkpoint import resume_path
from apeart.core.cli import run_stage
from apeart.core.config import load_section
from apeart.gan.params import GanParams
from apeart.core.files import write_bytes
from apeart.core.memory import require
from apeart.core.metrics import last_epoch_mean, write_curves, write_metrics
from apeart.core.runtime import deterministic, machine, peak_rss_mb, resolve_device
from apeart.core.trainer import TrainingError
from apeart.core.datasets import load_pngs
from apeart.core.distributed import join_training, leave, relaunch_under_torchrun, under_torchrun
from apeart.gan.models import training_need
from apeart.gan.sample import save_generator, save_samples
from apeart.gan.train import Trainer, fingerprint, loss_warning

MODELS = Path("models/dcgan")


def main() -> None:
    params = load_section(GanParams)
    device = resolve_device(params.device)
    if not under_torchrun():  # the launching process checks what all the processes will need
        require("gan.nz, gan.ngf, gan.ndf, gan.batch_size", training_need(params, device),
                f"{params.nz}, {params.ngf}, {params.ndf}, {params.batch_size} on {params.processes} process(es)",
                device)
    relaunch_under_torchrun("stages/train_gan.py", params.processes)
    rank, world, device = join_training(params.processes, device, TrainingError)
    deterministic(params.seed)
    data = load_pngs(Path("data/prepared/gan"))[1]
    checkpoint = resume_path("train_gan", fingerprint(params, data))
    trainer = Trainer(params, data, device, checkpoint, rank, world)
    state = trainer.run()
    leave(world)
    if rank > 0:
        return
    if warning := loss_warning(state.history):
        print(f"train_gan: WARNING: {warning}", file=sys.stderr)

    save_generator(trainer.sampler, params.nz, params.ngf, MODELS / "generator.pt")
    save_samples(trainer.samples, "dcgan_samples", MODELS / "samples.pt")
    write_bytes(MODELS / "checkpoint.pt", checkpoint.read_bytes())
    write_curves(Path("metrics/gan/curves"), state.history, ["d_loss", "g_loss"])
    write_metrics(Path("metrics/gan/train.json"), "gan.train",
                  {**last_epoch_mean(state.history, ["d_loss", "g_loss", "d_real", "d_fake"]), **machine()})
    print(f"train_gan: {state.step} steps, peak memory {peak_rss_mb():.0f} MiB")
    checkpoint.unlink()


if __name__ == "__main__":
    run_stage("train_gan", main)
