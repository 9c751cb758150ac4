"""Several processes under torchrun, or one. Sharded stages only need barriers; training stages average
gradients with DistributedDataParallel. gloo runs both on CPUs, NCCL trains on GPUs."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from apeart.core.cli import FAULTS
from apeart.core.config import ParamsError
from apeart.core.lifetime import end_with_parent

NPROC = "APEART_NPROC"  # processes for a sharded stage under `dvc repro` (not a param: it changes no output)


def relaunch_under_torchrun(script: str, nproc: int | None = None, default: int = 1) -> None:
    """With `nproc` (else $APEART_NPROC, else `default`) > 1 and no torchrun around this process, run `script`
    under torchrun with that many processes on this machine and exit with its status."""
    nproc = _env_nproc(default) if nproc is None else nproc
    if nproc > 1 and not under_torchrun():
        cmd = [sys.executable, "-m", "apeart.core.distributed", "--standalone", f"--nproc-per-node={nproc}",
               "-m", "apeart", script]
        sys.exit(subprocess.run(cmd, check=False, preexec_fn=end_with_parent(os.getpid())).returncode)


def under_torchrun() -> bool:
    """Whether torchrun started this process, as one of its ranks."""
    return "RANK" in os.environ


def _env_nproc(default: int) -> int:
    """$APEART_NPROC as a whole number >= 1 (else `default`); ParamsError for anything else."""
    raw = os.environ.get(NPROC, str(default))
    if not raw.strip().isdigit() or int(raw) < 1:
        raise ParamsError(f"{NPROC}: {raw!r} is not a whole number of processes >= 1")
    return int(raw)


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
    """torchrun with `argv` (its last word the stage script), quiet about failed ranks: each different line the ranks
    failed with (core.cli.fail) is printed once, and a rank killed by a signal, which printed nothing, gets one line,
    instead of every rank's copy, torchrun's log line and two tracebacks."""
    import logging
    import tempfile

    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import main

    logging.disable(logging.ERROR)  # torchrun's banner and its failure log, in this launcher process only
    with tempfile.TemporaryDirectory(prefix="apeart-faults-") as faults:
        os.environ[FAULTS] = faults  # the ranks inherit it
        try:  # torchrun's own log folder goes with it (by default one more torchelastic_* folder in $TMPDIR per run)
            main([f"--log-dir={Path(faults) / 'torchrun'}", *argv])
        except ChildFailedError as error:
            lines: list[str] = []
            for rank, failure in sorted(error.failures.items()):
                left = Path(faults) / f"rank{rank}.txt"
                if left.is_file():
                    lines.append(left.read_text())
                # SIGTERM is torchrun ending the other ranks after a failure; any other signal killed the rank itself
                elif failure.exitcode < 0 and -failure.exitcode != signal.SIGTERM:
                    lines.append(f"{Path(argv[-1]).stem}: rank {rank} killed by signal {-failure.exitcode}")
            for line in dict.fromkeys(lines):
                print(line, file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(torchrun(sys.argv[1:]))
