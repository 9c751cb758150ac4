"""Several processes under torchrun, or one. Sharded stages only need barriers; training stages average
gradients with DistributedDataParallel. gloo runs both on CPUs, NCCL trains on GPUs."""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Callable

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from apeart.core.config import ParamsError

PR_SET_PDEATHSIG = 1  # linux/prctl.h
NPROC = "APEART_NPROC"  # processes for a sharded stage under `dvc repro` (not a param: it changes no output)


def relaunch_under_torchrun(script: str, nproc: int | None = None, default: int = 1) -> None:
    """With `nproc` (else $APEART_NPROC, else `default`) > 1 and no torchrun around this process, run `script`
    under torchrun with that many processes on this machine and exit with its status."""
    nproc = _env_nproc(default) if nproc is None else nproc
    if nproc > 1 and "RANK" not in os.environ:
        cmd = [sys.executable, "-m", "apeart.core.distributed", "--standalone", f"--nproc-per-node={nproc}",
               "-m", "apeart", script]
        sys.exit(subprocess.run(cmd, check=False, preexec_fn=end_with_parent(os.getpid())).returncode)


def _env_nproc(default: int) -> int:
    """$APEART_NPROC as a whole number >= 1 (else `default`); ParamsError for anything else."""
    raw = os.environ.get(NPROC, str(default))
    if not raw.strip().isdigit() or int(raw) < 1:
        raise ParamsError(f"{NPROC}: {raw!r} is not a whole number of processes >= 1")
    return int(raw)


def end_with_parent(parent: int) -> Callable[[], None]:
    """A `preexec_fn` (or a child's first call): the kernel sends the child SIGTERM when `parent` dies (Linux's
    PR_SET_PDEATHSIG), so a SIGKILLed stage takes torchrun or its worker pool down instead of leaving them running."""

    def arm() -> None:
        if not sys.platform.startswith("linux"):
            return
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl
            os.kill(os.getpid(), signal.SIGTERM)

    return arm


def join(backend: str = "gloo") -> tuple[int, int]:
    """(rank, world size): joins the process group when torchrun started several processes."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend)
    return int(os.environ.get("RANK", "0")), world


def join_training(processes: int, device: torch.device, error: type[Exception]) -> tuple[int, int, torch.device]:
    """(rank, world, this rank's device) for a training stage launched with `processes` processes: NCCL and
    one GPU per local rank on CUDA, gloo on CPU with the cores shared out (torchrun sets OMP_NUM_THREADS=1)."""
    if int(os.environ.get("WORLD_SIZE", "1")) != processes:
        raise error(f"launched with {os.environ.get('WORLD_SIZE', '1')} processes but the params ask for {processes}; "
                    "run `dvc repro` (it starts torchrun itself) or torchrun with --nproc-per-node to match")
    rank, world = join("nccl" if device.type == "cuda" else "gloo")
    if world > 1 and device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    elif world > 1:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", "1"))))
    return rank, world, device


def data_parallel(module: nn.Module, world: int) -> nn.Module:
    """`module` itself for one process; wrapped in DistributedDataParallel (gradients averaged) for several."""
    return DistributedDataParallel(module) if world > 1 else module


def even_batches(order: torch.Tensor, batch_size: int, world: int) -> list[torch.Tensor]:
    """`order` in batches of `batch_size`, without a last one that `world` ranks cannot split evenly."""
    batches = list(order.split(batch_size))
    return batches[:-1] if len(batches[-1]) % world else batches


def gather_objects(value: object, world: int) -> list:
    """Every rank's `value`, in rank order (a list of one for one process)."""
    if world == 1:
        return [value]
    values = [None] * world
    dist.all_gather_object(values, value)
    return values


def mean_over_ranks(values: torch.Tensor, world: int) -> torch.Tensor:
    """The element-wise mean of `values` over all ranks (the same tensor for one process)."""
    if world > 1:
        dist.all_reduce(values)
        values /= world
    return values


def barrier(world: int) -> None:
    if world > 1:
        dist.barrier()


def leave(world: int) -> None:
    if world > 1:
        dist.destroy_process_group()


def torchrun(argv: list[str]) -> int:
    """torchrun with `argv` (its last word the stage script), quiet about failed ranks: each printed its own one-line
    message (a rank killed by a signal, which printed nothing, gets one line here) instead of torchrun's log line
    and two tracebacks."""
    import logging

    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import main

    logging.disable(logging.ERROR)  # torchrun's banner and its failure log, in this launcher process only
    try:
        main(argv)
    except ChildFailedError as error:
        for rank, failure in sorted(error.failures.items()):
            # SIGTERM is torchrun ending the other ranks after a failure; any other signal killed the rank itself
            if failure.exitcode < 0 and -failure.exitcode != signal.SIGTERM:
                print(f"{Path(argv[-1]).stem}: rank {rank} killed by signal {-failure.exitcode}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(torchrun(sys.argv[1:]))
