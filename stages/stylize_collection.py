"""Stage stylize_collection: every prepared image through the texture network, with a lineage row each;
Gatys vs texture network on the held-out NST content images; the noise-scale row (seed 002 fig. 6).

Sharded under torchrun (`APEART_NPROC=4 dvc repro`, or torchrun itself): each rank stylises names[rank::world];
every output depends on its token alone, so the files are the same whatever the number of processes."""
from __future__ import annotations

import dataclasses
import shutil
import time
from pathlib import Path

import torch

from apeart.collection.manifest import read_manifest
from apeart.core.cli import run_stage
from apeart.core.config import load_sections
from apeart.gan.params import SampleParams
from apeart.nst.params import NstParams
from apeart.texnet.params import TexnetParams
from apeart.core.datasets import load_pngs
from apeart.core.distributed import barrier, join, leave, relaunch_under_torchrun
from apeart.core.files import save_png
from apeart.core.grids import grid, rows, tile_grid, to_pil
from apeart.core.metrics import write_metrics
from apeart.core.progress import progress
from apeart.core.runtime import deterministic, resolve_device
from apeart.nst.inputs import load_rgb
from apeart.nst.transfer import transfer_weighted
from apeart.texnet.collection import load_model, stylise, stylise_collection, work_key
from apeart.texnet.data import held_out_names, style_of
from apeart.texnet.lineage import file_md5, publish, style_record
from apeart.texnet.models import TexnetError
from apeart.texnet.train import Loss, loss_params, weights_of

MODEL, FOLDER, WORK = Path("models/texnet/texnet.pt"), Path("data/prepared/texnet"), Path(".cache/stylize_collection")
OUT, FIG = Path("data/stylized"), Path("reports/texnet")
# The Gatys reference is the stylize stage's default optimisation, fixed: the comparison cannot be won by
# weakening it through nst params.
GATYS = {"optimizer": "lbfgs", "steps": 60, "lr": 1.0, "init": "content", "scales": []}


def _losses(loss: Loss, content: torch.Tensor, images: torch.Tensor, device: torch.device) -> dict[str, float]:
    """Batch-mean content, style and total loss of `images` (RGB [0, 1]) for `content`."""
    with torch.no_grad():
        values = loss(content.to(device), images.to(device))
    return {t: float(values[t].mean()) for t in ("content", "style", "total")}


def main() -> None:
    relaunch_under_torchrun("stages/stylize_collection.py")
    rank, world = join()
    texnet, nst, sample = load_sections(TexnetParams, NstParams, SampleParams)
    deterministic(texnet.seed)
    device = resolve_device(texnet.device)
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", rank % torch.cuda.device_count())
    names, images = load_pngs(FOLDER)
    # Finished files are kept outside the outs (DVC deletes those before a run), so a killed run resumes.
    work = WORK / work_key(MODEL, texnet, FOLDER, names)
    with progress(total=len(names[rank::world]), desc=f"stylize_collection rank {rank}/{world}", unit="img",
                  disable=rank > 0) as bar:
        stylise_collection(MODEL, texnet, FOLDER, names, work, device, lambda name: bar.update(), rank, world)
    barrier(world)
    leave(world)
    if rank:
        return
    cids = {row["token_id"]: row["cid"] for row in read_manifest(Path("data/raw/manifest.csv"))}
    if missing := [n for n in names if n not in cids]:
        raise TexnetError(f"{len(missing)} prepared images have no row in data/raw/manifest.csv (first: {missing[0]}); "
                          "run fetch and prepare again")
    style, model = style_record(texnet.style_source, texnet.style_batch, nst.style_dir, sample.model), file_md5(MODEL)
    publish(work, OUT, names, cids, style, model)
    save_png(to_pil(grid(torch.stack([load_rgb(OUT / f"{n}.png") for n in names[:64]]), nrow=8)),
             FIG / "contact_sheet.png")

    # Gatys vs texture network on the held-out content images: same style, size and loss code; the texture
    # network's images are the collection's files.
    tokens = [t for t in held_out_names() if t in names]
    held = images[[names.index(t) for t in tokens]]
    content = held.float() / 255
    fast = torch.stack([load_rgb(OUT / f"{t}.png") for t in tokens])
    net = load_model(MODEL, device)
    styles = style_of(texnet, nst)
    start = time.perf_counter()
    gatys = transfer_weighted(content, styles, dataclasses.replace(loss_params(nst, texnet), **GATYS), weights_of(texnet),
                              device)
    gatys_seconds = (time.perf_counter() - start) / len(tokens)
    loss = Loss(nst, texnet, styles, device)
    fast_loss, gatys_loss = _losses(loss, content, fast, device), _losses(loss, content, gatys.images, device)
    write_metrics(Path("metrics/texnet/held_out.json"), "texnet", {
        "loss_vs_gatys": fast_loss["total"] / gatys_loss["total"],  # the texture network's total loss / Gatys'
        "loss_convention": nst.gram_norm,  # the units of every texnet loss (held out and training)
        "held_out": {**{f"{t}_loss": v for t, v in fast_loss.items()},
                     **{f"gatys_{t}_loss": v for t, v in gatys_loss.items()}}})
    save_png(to_pil(rows([list(content), list(gatys.images), list(fast)], texnet.size)), FIG / "comparison.png")

    # Seed 002 fig. 6: one content image, the test-time noise scale k growing along the row.
    row = [stylise(net, held[0], tokens[0], k, texnet.seed, device) for k in texnet.noise_scales]
    labels = ["content"] + [f"k={k:g}" for k in texnet.noise_scales]
    save_png(tile_grid([[content[0], *row]], texnet.size, labels), FIG / "noise_scales.png")
    shutil.rmtree(work)
    print(f"stylize_collection: {len(names)} images; Gatys {gatys_seconds:.2f} s/image on the held-out set "
          "(the texture network's speed: benchmarks/bench_texnet.py)")


if __name__ == "__main__":
    run_stage("stylize_collection", main)
