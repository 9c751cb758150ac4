"""Process-level helpers for stages: device choice, peak memory, deterministic algorithms."""
from __future__ import annotations

import resource
from pathlib import Path

import torch

from apeart.core.config import ParamsError


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
    """Seed torch and ask for deterministic kernels (bit-identical reruns on CPU)."""
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
