"""L-BFGS for one tensor without host synchronisation: one gradient evaluation per `step`.

Same iteration as `torch.optim.LBFGS(max_iter=1, line_search_fn=None, tolerance_grad=0,
tolerance_change=0)`, but every data-dependent branch is a tensor operation, so a step queues kernels
and never waits for the device (torch's version reads ~2 + 2 * history scalars back per step: the
`ys > 1e-10` test, `alpha=` tensors in the two-loop recursion, the first step size and `float(loss)`).
The history is a ring buffer of preallocated (m, n) tensors; a curvature pair with y.s <= 1e-10 is
stored with rho = 0 (a no-op in the recursion) instead of being skipped, the one place it can differ
from torch's, where such pairs are rare.
"""
from __future__ import annotations

from collections.abc import Callable

import torch


class LBFGS:
    """Minimise `closure()` over `param` (any shape, contiguous): `step(closure)` runs one iteration."""

    def __init__(self, param: torch.Tensor, lr: float = 1.0, history_size: int = 50) -> None:
        if not param.is_contiguous():
            raise ValueError("LBFGS needs a contiguous parameter")
        self.param, self.lr, self.m = param, lr, history_size
        self.iteration = 0
        self.s: torch.Tensor | None = None  # (m, n) steps, allocated on the second step
        self.y: torch.Tensor | None = None  # (m, n) gradient differences
        self.rho = param.new_zeros(history_size)
        self.h_diag = param.new_ones(())
        self.prev_grad: torch.Tensor | None = None
        self.d: torch.Tensor | None = None
        self.t = param.new_zeros(())

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.param.grad = None

    def _flat_grad(self) -> torch.Tensor:
        grad = self.param.grad
        return self.param.new_zeros(self.param.numel()) if grad is None else grad.reshape(-1)

    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:
        with torch.enable_grad():
            loss = closure()
        with torch.no_grad():
            g = self._flat_grad()
            self.iteration += 1
            if self.iteration == 1:
                d = g.neg()
                t = torch.clamp(1.0 / g.abs().sum(), max=1.0) * self.lr
            else:
                slot = (self.iteration - 2) % self.m
                if self.s is None:  # uninitialised: only filled slots are read, so pages are touched as used
                    self.s = g.new_empty(self.m, g.numel())
                    self.y = g.new_empty(self.m, g.numel())
                y, s = self.y[slot], self.s[slot]
                torch.sub(g, self.prev_grad, out=y)
                torch.mul(self.d, self.t, out=s)
                ys = torch.dot(y, s)
                accept = ys > 1e-10
                self.rho[slot] = torch.where(accept, 1.0 / ys, torch.zeros_like(ys))
                self.h_diag = torch.where(accept, ys / torch.dot(y, y), self.h_diag)
                # Two-loop recursion over the filled slots, newest first.
                count = min(self.iteration - 1, self.m)
                order = [(slot - j) % self.m for j in range(count)]
                q = g.neg()
                alphas = {}
                for i in order:
                    alphas[i] = torch.dot(self.s[i], q) * self.rho[i]
                    q.sub_(self.y[i] * alphas[i])
                d = q.mul_(self.h_diag)
                for i in reversed(order):
                    beta = torch.dot(self.y[i], d) * self.rho[i]
                    d.add_(self.s[i] * (alphas[i] - beta))
                t = self.t.new_tensor(self.lr)
            if self.prev_grad is None:
                self.prev_grad = g.clone()
            else:
                self.prev_grad.copy_(g)
            # torch stops when d is not a descent direction (g.d > 0): a zero step here.
            t = torch.where(torch.dot(g, d) > 0, torch.zeros_like(t), t)
            self.param.view(-1).add_(d * t)
            self.d, self.t = d, t
        return loss
