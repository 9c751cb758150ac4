"""The sharded Gatys job of tests/test_nst_collection.py (7 images in chunks of 2): `shard` in the test's process,
or this file run as a script under torchrun, a rank each: `nst_shard.py ROOT WORK` writes WORK's files and
ROOT/<WORK's name>-rank<r>.txt (the chunks rank r wrote); $KILL_RANK SIGKILLs that rank after its first chunk's
files are written."""
from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import torch

import defaults
from apeart.core.distributed import barrier, join, leave
from apeart.nst.collection import stylise_shard
from apeart.texnet.collection import intra_op_threads  # the caller's count restored after

PARAMS = defaults.nst(size=32, steps=6, content_count=2, content_layers=["conv2_1"],
                      style_layers=["conv1_1", "conv2_1"])
IMAGES = torch.rand(7, 3, 32, 32, generator=torch.Generator().manual_seed(1))
STYLES = [torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(2))]
NAMES = [str(i) for i in range(7)]
CHUNKS = ["0 1", "2 3", "4 5", "6"]


def shard(work: Path, rank: int = 0, world: int = 1, finished: Callable[[str], None] = lambda chunk: None) -> list[str]:
    """Rank `rank` of `world`'s share of the job on one thread -> `work`: the chunks it wrote ("0 1", ...), each
    passed to `finished` as its files are written."""
    done: list[str] = []

    def on_chunk(chunk: list[str]) -> None:
        done.append(" ".join(chunk))
        finished(done[-1])

    with intra_op_threads(1):
        stylise_shard(NAMES, lambda chunk: IMAGES[[int(n) for n in chunk]], STYLES, PARAMS, work, torch.device("cpu"),
                      on_chunk, rank, world)
    return done


def main() -> None:
    rank, world = join()
    root, work = Path(sys.argv[1]), Path(sys.argv[2])

    def finished(chunk: str) -> None:
        if os.environ.get("KILL_RANK") == str(rank):
            os.kill(os.getpid(), signal.SIGKILL)

    done = shard(work, rank, world, finished)
    (root / f"{work.name}-rank{rank}.txt").write_text(",".join(done))
    barrier(world)
    leave(world)


if __name__ == "__main__":
    main()
