"""Memory a configuration will allocate, checked before it does: a size that cannot fit is refused in one line
naming its key, where the kernel's OOM killer would end the process without a word."""
from __future__ import annotations

from dataclasses import dataclass
from itertools import chain

import psutil
import torch
from torch import nn

from apeart.core.config import ParamsError

GIB = 2**30
CPU = torch.device("cpu")


@dataclass(frozen=True)
class Need:
    """Bytes a piece of work allocates on its device and in host memory (the same memory on a CPU)."""

    device: int
    host: int = 0


def available(device: torch.device) -> int:
    """Bytes that can still be allocated: free GPU memory on CUDA, else the system's MemAvailable (psutil)."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    return psutil.virtual_memory().available


def require(key: str, need: Need, what: str, device: torch.device = CPU) -> None:
    """ParamsError `<key>: <what>: about N GiB needed, more than the M GiB ... available here` when `need` does
    not fit."""
    checks = [(need.device + need.host, CPU)] if device.type == "cpu" else [(need.device, device), (need.host, CPU)]
    for needed, where in checks:
        have = available(where)
        if needed > have:
            raise ParamsError(f"{key}: {what}: about {needed / GIB:.1f} GiB needed, more than the {have / GIB:.1f} "
                              f"GiB of {'GPU memory' if where.type == 'cuda' else 'memory'} available here")


def private_rss() -> int:
    """This process's resident memory less its file-backed and shared pages (RssAnon): what another process
    importing the same modules allocates again, where library code is shared."""
    info = psutil.Process().memory_info()
    return info.rss - info.shared


def layer_outputs(module: nn.Module, *inputs: object) -> list[int]:
    """Bytes of each leaf layer's output, in call order, for one forward of `module` on `inputs` (tensors on the
    meta device): shapes only, nothing allocated. An in-place layer (ReLU(True)) allocates nothing and counts 0."""
    sizes: list[int] = []

    def record(layer: nn.Module, args: object, output: torch.Tensor) -> None:
        sizes.append(0 if getattr(layer, "inplace", False) else output.nbytes)

    leaves = [m for m in module.modules() if not any(m.children())]
    hooks = [m.register_forward_hook(record) for m in leaves]
    state = {name: t.to("meta") for name, t in chain(module.named_parameters(), module.named_buffers())}
    try:
        with torch.no_grad():
            torch.func.functional_call(module, state, inputs)
    finally:
        for hook in hooks:
            hook.remove()
    return sizes


def inference_peak(sizes: list[int]) -> int:
    """Peak bytes of a layer-by-layer forward without autograd (`layer_outputs`): the largest input and output
    alive together (an in-place layer's output is its input), twice: a kernel's workspace and layout copies
    (oneDNN's reorders, im2col columns) can take as much again."""
    peak, live = 0, 0
    for size in sizes:
        if size:
            peak, live = max(peak, live + size), size
    return 2 * peak


def module_bytes(module: nn.Module) -> int:
    """Bytes of `module`'s parameters and buffers."""
    return sum(t.nbytes for t in chain(module.parameters(), module.buffers()))
