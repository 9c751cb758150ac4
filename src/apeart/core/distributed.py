"""Several processes under torchrun, or one. Sharded stages only need barriers, which gloo gives on CPUs and GPUs."""
from __future__ import annotations

import os
import subprocess
import sys

import torch.distributed as dist

NPROC = "APEART_NPROC"  # processes for a sharded stage under `dvc repro` (not a param: it changes no output)


def relaunch_under_torchrun(script: str) -> None:
    """With $APEART_NPROC > 1 and no torchrun around this process, run `script` under torchrun with that
    many processes on this machine and exit with its status."""
    nproc = int(os.environ.get(NPROC, "1"))
    if nproc > 1 and "RANK" not in os.environ:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
               "-m", "apeart", script]
        sys.exit(subprocess.run(cmd, check=False).returncode)


def join() -> tuple[int, int]:
    """(rank, world size): joins the process group when torchrun started several processes."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("gloo")
    return int(os.environ.get("RANK", "0")), world


def barrier(world: int) -> None:
    if world > 1:
        dist.barrier()


def leave(world: int) -> None:
    if world > 1:
        dist.destroy_process_group()
