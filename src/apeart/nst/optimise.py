"""The optimisation loop: the per-step loss curves stay on the device, read back every `CHECK_EVERY` steps,
at snapshots and at the end (where NaN/inf is detected and reported by step and term); on the CPU the
optimised image runs channels_last (oneDNN's fast layout). L-BFGS is torch.optim.LBFGS with one closure
evaluation per step (it reads a few scalars back each step; a synchronisation-free version of our own was
not faster on the CPU: benchmarks/bench_lbfgs.py)."""
from __future__ import annotations

import time
from collections.abc import Callable

import torch

from apeart.nst.params import NstParams
from apeart.core.progress import progress as progress_bar
from apeart.core.runtime import fast_layout
from apeart.nst.objective import Objective
from apeart.core.errors import ApeartError

TERMS = ("total", "content", "style", "tv")
CHECK_EVERY = 10  # steps between NaN/inf checks (each reads a few floats back from the device)


class NSTError(ApeartError, RuntimeError):
    """The optimisation diverged (NaN or inf loss); `last_good` holds the last checked finite images."""

    def __init__(self, message: str, step: int = 0, term: str = "", last_good: torch.Tensor | None = None,
                 last_good_step: int = 0) -> None:
        super().__init__(message)
        self.step, self.term, self.last_good, self.last_good_step = step, term, last_good, last_good_step


def snapshot_steps(steps: int, count: int) -> list[int]:
    """`count` steps spread from 0 (the initial image) to `steps` (the result)."""
    if count == 1:
        return [steps]
    return sorted({round(i * steps / (count - 1)) for i in range(count)})


def memory_format(params: NstParams, device: torch.device) -> torch.memory_format:
    """nst.memory_format; `auto` is channels_last on the CPU (measured faster there), NCHW elsewhere."""
    if params.memory_format == "auto":
        return fast_layout(device)
    return torch.channels_last if params.memory_format == "channels_last" else torch.contiguous_format


def _optimizer(params: NstParams, x: torch.Tensor) -> torch.optim.Optimizer:
    """Every optimiser's `step(closure)` evaluates the closure once, at the start of the step, then updates."""
    if params.optimizer == "lbfgs":
        # max_iter=1, no line search: one closure evaluation per step; zero tolerances: a step is skipped only
        # at an exactly zero gradient or a direction that is not a descent direction.
        return torch.optim.LBFGS([x], lr=params.lr, max_iter=1, history_size=50, line_search_fn=None,
                                 tolerance_grad=0.0, tolerance_change=0.0)
    if params.optimizer == "sgd":
        return torch.optim.SGD([x], lr=params.lr, momentum=params.momentum)
    return torch.optim.Adam([x], lr=params.lr)


class _Layout:
    """The optimised tensor: NHWC storage for channels_last (a contiguous leaf the optimisers can flatten)."""

    def __init__(self, fmt: torch.memory_format) -> None:
        self.channels_last = fmt == torch.channels_last

    def leaf(self, x: torch.Tensor) -> torch.Tensor:
        leaf = x.permute(0, 2, 3, 1) if self.channels_last else x
        return leaf.detach().contiguous().clone().requires_grad_(True)

    def view(self, leaf: torch.Tensor) -> torch.Tensor:
        return leaf.permute(0, 3, 1, 2) if self.channels_last else leaf


def _first_bad(buffer: torch.Tensor, first_step: int) -> tuple[int, str] | None:
    """(step, term) of the first non-finite loss in rows of `buffer` (steps first_step...), else None."""
    bad = ~torch.isfinite(buffer)
    if not bool(bad.any()):
        return None
    row = int(bad.any(dim=1).nonzero()[0, 0])
    order = [TERMS.index(t) for t in ("content", "style", "tv", "total")]
    term = next(TERMS[i] for i in order if bool(bad[row, i]))
    return first_step + row, term


def optimise(objective: Objective, x0: torch.Tensor, params: NstParams, steps: int,
             fmt: torch.memory_format = torch.contiguous_format,
             on_snapshot: Callable[[int, torch.Tensor], None] | None = None,
             snaps: set[int] | None = None, step_offset: int = 0,
             finish: Callable[[torch.Tensor], torch.Tensor] | None = None,
             progress: str = "stylize", per_image_scale: bool = False) -> tuple[torch.Tensor, list[dict[str, float]], float]:
    """Minimise `objective` from `x0` (input space) for `steps` steps.

    Returns the final x (input space, NCHW shape in `fmt`'s layout), the per-step batch-mean curves and
    seconds per step (snapshot callbacks excluded); curve row `step` is the loss after that many updates. `snaps` are steps of this run (0 = x0) passed to
    `on_snapshot` through `finish` (RGB [0, 1] -> what snapshots show); `step_offset` only renumbers
    the curves and error messages.
    """
    net = objective.net
    layout = _Layout(fmt)
    leaf = layout.leaf(x0)
    optimizer = _optimizer(params, leaf)
    snaps = snaps or set()
    finish = finish or (lambda rgb: rgb)
    per_image = leaf[0].numel()
    buffer = torch.zeros(steps, len(TERMS), device=leaf.device)
    state: dict[str, torch.Tensor | dict] = {}

    def closure() -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        losses = objective(layout.view(leaf))
        if "scale" not in state:
            # Gatys' losses on 0-255 Caffe features reach ~1e13, where float32 L-BFGS overflows, while a
            # loss scaled to ~1 falls under its curvature threshold (ys > 1e-10). The objective is scaled to
            # one unit per optimised value at the start (the batch's, or with `per_image_scale` each
            # image's: for batches of unlike problems); reported losses stay unscaled.
            total = losses["total"].detach()
            state["scale"] = (total.clamp_min(1e-12) / per_image if per_image_scale
                              else total.sum().clamp_min(1e-12) / leaf.numel())
        loss = (losses["total"] / state["scale"]).sum()
        loss.backward()
        state["last"] = losses
        return loss

    def snapshot(step: int, x: torch.Tensor) -> None:
        if on_snapshot and step in snaps:
            on_snapshot(step, finish(net.to_rgb01(x)))

    good, good_step, checked = leaf.detach().clone(), 0, 0
    callback_seconds = 0.0
    t0 = time.perf_counter()
    snapshot(0, layout.view(good))
    callback_seconds += time.perf_counter() - t0
    start = time.perf_counter()
    for step in progress_bar(range(1, steps + 1), desc=progress, unit="step"):
        optimizer.step(closure)  # evaluates the image after step - 1 updates, then updates it
        last = state["last"]
        buffer[step - 1] = torch.stack([last[t].detach().mean() for t in TERMS])
        if step % CHECK_EVERY and step != steps and step not in snaps:
            continue
        found = _first_bad(buffer[checked:step], checked + 1)
        if found is None and not bool(torch.isfinite(leaf).all()):
            found = (step, "image")
        if found:
            bad_step, term = found
            images = finish(net.to_rgb01(layout.view(good))).cpu()
            raise NSTError(
                f"NaN/inf {term} loss at step {bad_step + step_offset}; last good snapshot (step "
                f"{good_step + step_offset}) kept. Lower nst.lr or nst.beta.",
                bad_step + step_offset, term, images, good_step + step_offset)
        checked, good_step = step, step
        good = leaf.detach().clone()
        t0 = time.perf_counter()
        snapshot(step, layout.view(good))
        callback_seconds += time.perf_counter() - t0
    if leaf.device.type == "cuda":
        torch.cuda.synchronize(leaf.device)
    seconds = (time.perf_counter() - start - callback_seconds) / steps
    rows = buffer.cpu().tolist()
    # Row i was evaluated at the image after i updates (before update i + 1).
    history = [{"step": i + step_offset, **dict(zip(TERMS, row))} for i, row in enumerate(rows)]
    return layout.view(leaf.detach()), history, seconds
