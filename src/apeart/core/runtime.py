"""Process-level helpers for stages: device choice, peak memory, deterministic algorithms."""
from __future__ import annotations

import functools
import gc
import os
import resource
import sys
import types
from pathlib import Path

import torch

from apeart.core.config import ParamsError

# torch's intra-op threads in a single-process stage, whatever the machine's core count (torch's default): a
# reduction split over another number of threads sums in another order, so a 16-core machine trained another GAN
# than a 2-core one (docs/reproducibility.md). Two: the 2-core machines the defaults are sized for.
THREADS = 2


def resolve_device(name: str) -> torch.device:
    """`auto` -> CUDA when available, else CPU; `cuda` without a GPU is an error."""
    if name == "cuda" and not torch.cuda.is_available():
        raise ParamsError("device: cuda requested but no CUDA GPU is visible; use auto or cpu")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def fast_layout(device: torch.device) -> torch.memory_format:
    """channels_last on the CPU (oneDNN's fast layout for our convolutions: bench_nst, bench_texnet and
    bench_gan measure it), NCHW elsewhere."""
    return torch.channels_last if device.type == "cpu" else torch.contiguous_format


def machine() -> dict[str, object]:
    """The CPU model and torch's thread count: what a CPU stage's bytes depend on (docs/reproducibility.md)."""
    model = next((line.split(":", 1)[1].strip() for line in _cpuinfo().splitlines() if line.startswith("model name")),
                 "unknown")
    return {"cpu": model, "threads": torch.get_num_threads()}


def _cpuinfo() -> str:
    path = Path("/proc/cpuinfo")
    return path.read_text() if path.is_file() else ""


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB: VmHWM on Linux (ru_maxrss also counts the parent's memory
    at fork, so a stage started from a large process would over-report), else ru_maxrss."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def deterministic(seed: int) -> None:
    """Seed torch, ask for deterministic kernels and (one process) fix the thread count: bit-identical reruns on
    CPU, whatever the core count. Under torchrun, distributed.join_training sets each rank's threads. Meant for
    stage processes, which compile nothing (see `_without_compiler`)."""
    if int(os.environ.get("WORLD_SIZE", "1")) == 1:
        torch.set_num_threads(THREADS)
    torch.manual_seed(seed)
    # torch.use_deterministic_algorithms(True, warn_only=True) sets this same kernel flag, then imports
    # torch._inductor to set its compiler's flag (benchmarks/bench_startup.py), for a compiler no stage uses.
    torch._C._set_deterministic_algorithms(True, warn_only=True)
    _without_compiler()


@functools.cache
def _without_compiler() -> None:
    """Spare a stage process importing torch's compiler (benchmarks/bench_startup.py) where the import only marks
    functions not to be compiled.

    torch wraps such functions (the optimizers' add_param_group, zero_grad, state_dict and load_state_dict; the
    Python kernels that meta tensors run, used by core.memory.layer_outputs) in torch._compile._disable_dynamo:
    the first call imports torch._dynamo to build the marked function and keeps it on the function as
    `__dynamo_disable`. Outside a compiled region the marked function is the function itself, so each one existing
    now is given itself; torch.compile in this process afterwards would trace into them. Nothing is done where
    the compiler is already imported (nothing to spare) or where torch's wrapper has another shape. No torch API
    skips this import; Adam's step still imports it."""
    code = torch._compile._disable_dynamo(_without_compiler).__code__
    if "torch._dynamo" in sys.modules or "fn" not in code.co_freevars:
        return
    fn_cell = code.co_freevars.index("fn")
    for obj in gc.get_objects():
        # type(), not isinstance: that reads __class__, which warns on torch's deprecated torch.distributed.reduce_op
        if type(obj) is types.FunctionType and obj.__code__ is code:
            target = obj.__closure__[fn_cell].cell_contents  # type: ignore[index]
            if getattr(target, "__dynamo_disable", None) is None:
                target.__dynamo_disable = target
