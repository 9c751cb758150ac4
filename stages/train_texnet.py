"""Stage train_texnet: a texture network (Ulyanov et al. 2016) for one style, on the collection minus the
NST content images; resumes from the last epoch checkpoint after a crash."""
from __future__ import annotations

from pathlib import Path

from apeart.core.cli import run_stage
from apeart.core.config import load_params
from apeart.core.datasets import load_pngs
from apeart.core.files import write_json
from apeart.core.live import log_history
from apeart.core.runtime import deterministic, peak_rss_mb, resolve_device
from apeart.texnet.collection import save_model
from apeart.texnet.data import style_of, training_set
from apeart.texnet.train import TERMS, TexnetError, Trainer, fingerprint

RESUME = Path(".cache/train_texnet")


def main() -> None:
    params = load_params()
    texnet, nst = params.texnet, params.nst
    deterministic(texnet.seed)
    names, images = load_pngs(Path("data/prepared/texnet"))
    held_out = {p.stem for p in Path("data/prepared/content").glob("*.png")}
    images = training_set(names, images, held_out, texnet.train_images)
    styles = style_of(texnet, nst)
    # Resume state lives outside the stage's outputs (DVC deletes those before a run), keyed by config.
    checkpoint = RESUME / f"checkpoint-{fingerprint(texnet, nst, images, styles)}.pt"
    if checkpoint.is_file():
        print(f"train_texnet: resuming from {checkpoint}")
    trainer = Trainer(texnet, nst, images, styles, resolve_device(texnet.device), checkpoint)
    state = trainer.run()
    save_model(trainer.net, texnet, Path("models/texnet/texnet.pt"))
    curves = [{"step": row["step"], **{f"{t}_loss": row[t] for t in TERMS}} for row in state.history]
    log_history(Path("metrics/train_texnet"), curves, [f"{t}_loss" for t in TERMS], {})
    write_json(Path("metrics/perf/train_texnet.json"), {"peak_rss_mb": round(peak_rss_mb(), 1),
                                                        "training_images": len(images)})
    print(f"train_texnet: {state.step} steps on {len(images)} images")
    checkpoint.unlink()


if __name__ == "__main__":
    run_stage("train_texnet", main, TexnetError)
