"""Stage train_texnet: a texture network (Ulyanov et al. 2016) for one style, on the collection minus the
NST content images; resumes from the last epoch checkpoint after a crash. With texnet.processes > 1 it runs
itself under torchrun (data-parallel); rank 0 writes the outputs."""
from __future__ import annotations

from pathlib import Path

from apeart.core.checkpoint import resume_path
from apeart.core.cli import run_stage
from apeart.core.config import load_sections
from apeart.nst.params import NstParams
from apeart.texnet.params import TexnetParams
from apeart.core.datasets import load_pngs
from apeart.core.distributed import join_training, leave, relaunch_under_torchrun
from apeart.core.metrics import last_epoch_mean, write_curves, write_metrics
from apeart.core.runtime import deterministic, machine, peak_rss_mb, resolve_device
from apeart.texnet.data import held_out_names, style_of, training_set
from apeart.texnet.models import TexnetError, save_model
from apeart.texnet.train import TERMS, Trainer, fingerprint


def main() -> None:
    texnet, nst = load_sections(TexnetParams, NstParams)
    relaunch_under_torchrun("stages/train_texnet.py", texnet.processes)
    rank, world, device = join_training(texnet.processes, resolve_device(texnet.device), TexnetError)
    deterministic(texnet.seed)
    names, images = load_pngs(Path("data/prepared/texnet"))
    images = training_set(names, images, set(held_out_names()), texnet.train_images)
    styles = style_of(texnet, nst)
    checkpoint = resume_path("train_texnet", fingerprint(texnet, nst, images, styles))
    trainer = Trainer(texnet, nst, images, styles, device, checkpoint, rank, world)
    state = trainer.run()
    leave(world)
    if rank > 0:
        return
    save_model(trainer.net, Path("models/texnet/texnet.pt"))
    names = [f"{t}_loss" for t in TERMS]
    history = [{"step": row["step"], "epoch": row["epoch"], **{f"{t}_loss": row[t] for t in TERMS}}
               for row in state.history]
    write_curves(Path("metrics/texnet/curves"), history, names)
    write_metrics(Path("metrics/texnet/train.json"), "texnet.train",
                  {**last_epoch_mean(history, names), "images": len(images), **machine()})
    print(f"train_texnet: {state.step} steps on {len(images)} images, peak memory {peak_rss_mb():.0f} MiB")
    checkpoint.unlink()


if __name__ == "__main__":
    run_stage("train_texnet", main)
