"""Stage stylize_collection: every prepared image through the texture network, with a lineage row each.

Sharded under torchrun (`APEART_NPROC=4 dvc repro`, or torchrun itself): each rank stylises names[rank::world];
every output depends on its token alone, so the files are the same whatever the number of processes."""
from __future__ import annotations

import shutil
from pathlib import Path

import torch

from apeart.core.cli import run_stage
from apeart.collection.manifest import read_manifest
from apeart.core.config import load_sections
from apeart.core.datasets import load_pngs
from apeart.core.distributed import barrier, join, leave, relaunch_under_torchrun
from apeart.core.progress import progress
from apeart.core.runtime import deterministic, resolve_device
from apeart.texnet.collection import stylise_collection, work_key
from apeart.gan.sample_params import SampleParams
from apeart.nst.params import NstParams
from apeart.texnet.lineage import file_md5, publish, style_record
from apeart.texnet.models import TexnetError
from apeart.texnet.params import TexnetParams

MODEL, FOLDER, WORK = Path("models/texnet/texnet.pt"), Path("data/prepared/texnet"), Path(".cache/stylize_collection")
OUT = Path("data/stylized")


def main() -> None:
    relaunch_under_torchrun("stages/stylize_collection.py")
    rank, world = join()
    texnet, nst, sample = load_sections(TexnetParams, NstParams, SampleParams)
    deterministic(texnet.seed)
    device = resolve_device(texnet.device)
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", rank % torch.cuda.device_count())
    names, _ = load_pngs(FOLDER)
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
    style = style_record(texnet.style_source, texnet.style_batch, nst.style_dir, sample.model)
    publish(work, OUT, names, cids, style, file_md5(MODEL))
    shutil.rmtree(work)
    print(f"stylize_collection: {len(names)} images (the texture network's speed: benchmarks/bench_texnet.py)")


if __name__ == "__main__":
    run_stage("stylize_collection", main)
