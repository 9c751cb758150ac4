"""The benchmarks' one harness: matmul rate, conv FLOPs, an interleaved timer, and provenance records.

Every row a benchmark or study appends to benchmarks/results/*.jsonl goes through `record`, which stamps it
with what a rerun needs: the git revision (and whether the tree was dirty), the full config, the command,
torch's version, the CPU model, the thread count, the load average and the UTC date. Importing it does not load
torch (benchmarks that time fresh processes import it before they start them).
"""
from __future__ import annotations

import datetime
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from torch import nn

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (a no-op on the CPU)."""
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def sgemm_rate(n: int = 2048, tries: int = 5, device: torch.device | None = None) -> float:
    """The best of `tries` float32 n^3 matmuls, FLOP/s (the best: a shared CPU only ever slows it down)."""
    import torch

    device = device or torch.device("cpu")
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    a @ b
    best = float("inf")
    for _ in range(tries):
        sync(device)
        start = time.perf_counter()
        a @ b
        sync(device)
        best = min(best, time.perf_counter() - start)
    return 2.0 * n**3 / best


def conv_flops(net: nn.Module, *inputs: torch.Tensor) -> list[float]:
    """Forward FLOPs (2 per multiply-add) of each convolution of `net(*inputs)`, in call order, per sample.

    A convolution's multiply-adds are its output elements x (c_in / groups) x k^2; a transposed one's, its
    input elements x (c_out / groups) x k^2 (`weight[0]` holds exactly that factor in both layouts)."""
    import torch
    from torch import nn

    flops: list[float] = []

    def count(module: nn.Module, args: tuple, out: torch.Tensor) -> None:
        elements = args[0].numel() if isinstance(module, nn.ConvTranspose2d) else out.numel()
        flops.append(2.0 * elements * module.weight[0].numel() / len(inputs[0]))

    hooks = [m.register_forward_hook(count) for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    try:
        with torch.inference_mode():
            net(*inputs)
    finally:
        for hook in hooks:
            hook.remove()
    return flops


def interleaved(methods: dict[Any, Callable[[], Any]], repeats: int, warmup: bool = True) -> dict[Any, list[Any]]:
    """{name: the value each of `repeats` rounds returned}: every method once per round, the order rotating each
    round so no method always runs after the same one (a drifting load hits all alike). A warm-up round first,
    unless each call starts fresh processes (`warmup=False`)."""
    names = list(methods)
    if warmup:
        for name in names:
            methods[name]()
    times: dict[Any, list[Any]] = {name: [] for name in names}
    for round_ in range(repeats):
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            times[name].append(methods[name]())
    return times


def medians(times: dict[Any, list[float]]) -> dict[Any, float]:
    """The median of each method's values."""
    return {name: statistics.median(values) for name, values in times.items()}


def git_revision() -> str:
    """HEAD's commit, with "-dirty" when tracked files differ from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return git("rev-parse", "--short=10", "HEAD") + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def cpu_model() -> str:
    """The CPU model and its bf16 units (which decide how fast bf16 runs), from /proc/cpuinfo."""
    info = Path("/proc/cpuinfo")
    fields: dict[str, str] = {}
    for line in (info.read_text() if info.is_file() else "").splitlines():  # the first CPU's fields
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    units = sorted(set(fields.get("flags", "").split()) & {"avx512_bf16", "amx_bf16"})
    return f"{fields.get('model name', platform.processor())} ({', '.join(units) or 'no bf16 units'})"


# What ran, taken when the benchmark starts (a commit made while it runs is not what it measured).
STARTED = {"git": git_revision(), "command": shlex.join(["python", *sys.argv]),
           "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}


def provenance() -> dict[str, Any]:
    """Where and how a row was measured: revision, command and start date, torch, CPU, cores, threads, load."""
    import torch

    return {**STARTED, "torch": torch.__version__, "cpu": cpu_model(), "cpus": os.cpu_count(),
            "threads": torch.get_num_threads(), "loadavg": round(os.getloadavg()[0], 2)}


def record(path: Path, config: dict[str, Any], results: dict[str, Any]) -> dict[str, Any]:
    """Append one row to the JSONL file `path`: provenance, the full `config` the results were measured with,
    and the results. Returns the row."""
    row = {**provenance(), "config": config}
    clash = set(row) & set(results)
    assert not clash, f"results may not reuse the provenance keys {sorted(clash)}"
    row.update(results)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write(json.dumps(row) + "\n")
    return row


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a results file (none when it does not exist yet)."""
    return [json.loads(line) for line in path.read_text().splitlines() if line] if path.is_file() else []
