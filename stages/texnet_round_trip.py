"""Stage texnet_round_trip (experiments pipeline; seed 002 appendix D.1): a held-out image c stylised to g by
the trained texture network, then g through a second network trained with c itself as the style, to g'."""
from __future__ import annotations

from pathlib import Path

import torch

from apeart.core.checkpoint import resume_path
from apeart.core.cli import run_stage
from apeart.core.config import load_sections
from apeart.nst.params import NstParams
from apeart.texnet.params import TexnetParams
from apeart.core.datasets import load_pngs
from apeart.core.files import save_png, write_json
from apeart.core.grids import tile_grid
from apeart.core.runtime import deterministic, resolve_device
from apeart.nst.inputs import load_rgb
from apeart.texnet.collection import inference_net, stylise
from apeart.texnet.data import held_out_names, training_set
from apeart.texnet.train import Trainer, fingerprint

OUT = Path("experiments/texnet_round_trip")


def main() -> None:
    texnet, nst = load_sections(TexnetParams, NstParams)
    deterministic(texnet.seed)
    device = resolve_device(texnet.device)
    names, images = load_pngs(Path("data/prepared/texnet"))
    held_out = [t for t in held_out_names() if t in names]
    token = held_out[0]
    c = images[names.index(token)]
    g = load_rgb(Path("data/stylized") / f"{token}.png")  # the collection's stylised c
    train = training_set(names, images, set(held_out), texnet.train_images)
    style = [c.float() / 255]
    checkpoint = resume_path("texnet_round_trip", fingerprint(texnet, nst, train, style))
    trainer = Trainer(texnet, nst, train, style, device, checkpoint)
    trainer.run()
    back = stylise(inference_net(trainer.net, device), (g * 255).round().to(torch.uint8), token,
                   texnet.noise_scale, texnet.seed, device)
    save_png(tile_grid([[c.float() / 255, g, back]], texnet.size, ["c", "g: style s", "g': style c"], [token]),
             OUT / "round_trip.png")
    write_json(OUT / "round_trip.json", {
        "token_id": token,
        "mean_abs_diff_g_to_c": round(float((g - c.float() / 255).abs().mean()), 5),
        "mean_abs_diff_back_to_c": round(float((back - c.float() / 255).abs().mean()), 5)})
    checkpoint.unlink()


if __name__ == "__main__":
    run_stage("texnet_round_trip", main)
