"""Stage stylize_collection_gatys (experiments pipeline): Gatys at the nst params over the collection (its
first nst.collection_images, 0 = all) -> experiments/gatys_collection/<token_id>.png and lineage.csv.

Sharded under torchrun: $APEART_NPROC processes (default: one per usable core on the CPU, one per GPU), each on
one thread on the CPU, so the files are the same whatever the number of processes (not a param). Finished
files wait in .cache/stylize_collection_gatys/ until the stage ends: a relaunch redoes only unfinished chunks."""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import torch

from apeart.collection.manifest import read_manifest
from apeart.core.cli import run_stage
from apeart.core.config import load_sections
from apeart.gan.sample_params import SampleParams
from apeart.nst.params import NstParams
from apeart.core.distributed import barrier, gather_objects, join, leave, relaunch_under_torchrun
from apeart.core.progress import progress
from apeart.core.runtime import deterministic, resolve_device
from apeart.nst.collection import chunks, run_key, stylise_shard
from apeart.nst.inputs import load_square, load_styles
from apeart.texnet.lineage import publish, style_record
from apeart.vgg.backbones import weights_record

RAW, WORK, OUT = Path("data/raw"), Path(".cache/stylize_collection_gatys"), Path("experiments/gatys_collection")


def main() -> None:
    nst, sample = load_sections(NstParams, SampleParams)
    device = resolve_device(nst.device)
    per_machine = torch.cuda.device_count() if device.type == "cuda" else len(os.sched_getaffinity(0))
    relaunch_under_torchrun("stages/stylize_collection_gatys.py", default=per_machine)
    rank, world = join("nccl" if device.type == "cuda" else "gloo")
    deterministic(nst.seed)
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    else:  # after deterministic, which sets a lone process's THREADS
        torch.set_num_threads(1)  # float results differ with the thread count: one each, the same bytes anywhere
    rows = read_manifest(RAW / "manifest.csv")
    skipped = {item["file"] for item in json.loads(Path("data/prepared/skipped.json").read_text())}
    names = [row["token_id"] for row in rows if f"{row['token_id']}.png" not in skipped]
    names = names[: nst.collection_images or None]
    styles = load_styles(nst, Path("data/styles/gan"))
    key = run_key(nst, styles, weights_record(nst.backbone), [RAW / "images" / f"{name}.png" for name in names])
    work = WORK / key[:16]

    def load(chunk: list[str]) -> torch.Tensor:
        """The chunk's images prepared as prepare does (background, square crop, resize), RGB [0, 1]."""
        return torch.stack([load_square(RAW / "images" / f"{name}.png", nst.size) for name in chunk])

    mine = sum(len(c) for i, c in enumerate(chunks(names, nst.content_count)) if i % world == rank)
    done: list[str] = []
    start = time.perf_counter()
    with progress(total=mine, desc=f"stylize_collection_gatys rank {rank}/{world}", unit="img",
                  disable=rank > 0) as bar:
        def finished(chunk: list[str]) -> None:
            done.extend(chunk)
            bar.update(len(chunk))

        stylise_shard(names, load, styles, nst, work, device, finished, rank, world)
    timings = gather_objects((len(done), time.perf_counter() - start), world)  # this run's images, not resumed ones'
    barrier(world)
    leave(world)
    if rank:
        return
    cids = {row["token_id"]: row["cid"] for row in rows}
    style = style_record(nst.style_source, nst.style_batch, nst.style_dir, sample.model)
    publish(work, OUT, names, cids, style, key)
    stylised, seconds = sum(n for n, _ in timings), max(t for _, t in timings)
    shutil.rmtree(work)
    print(f"stylize_collection_gatys: {len(names)} images ({stylised} this run) on {world} processes, "
          f"{seconds:.1f} s")


if __name__ == "__main__":
    run_stage("stylize_collection_gatys", main)
