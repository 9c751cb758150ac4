"""L-BFGS in the optimisation loop (torch.optim.LBFGS): one objective evaluation per step, curve row N is
the loss after N updates, and the step-0 scaling makes huge losses (~1e20) take the same path as ~1."""
import torch

import defaults
from apeart.nst.optimise import optimise


class _Net:
    @staticmethod
    def to_rgb01(x: torch.Tensor) -> torch.Tensor:
        return x


class _Quartic:
    """A per-image ill-conditioned quadratic plus a quartic, times `k`; records each evaluation's batch mean."""

    net = _Net()

    def __init__(self, k: float) -> None:
        gen = torch.Generator().manual_seed(0)
        self.target = torch.rand(2, 3, 8, 8, generator=gen) * 10
        self.weight = torch.rand(2, 3, 8, 8, generator=gen) * 3 + 0.1
        self.k, self.calls = k, []

    def __call__(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        r = x - self.target
        content = (self.weight * r.pow(2)).sum((1, 2, 3)) * self.k
        style = 0.01 * r.pow(4).sum((1, 2, 3)) * self.k
        total = content + style
        self.calls.append(float(total.detach().mean()))
        return {"total": total, "content": content, "style": style, "tv": torch.zeros_like(total)}


def _run(k: float, steps: int = 12):
    objective = _Quartic(k)
    x, history, _ = optimise(objective, torch.zeros(2, 3, 8, 8), defaults.nst(steps=steps), steps, progress="test")
    return objective, x, history


def test_one_evaluation_per_step_and_row_n_is_the_loss_after_n_updates() -> None:
    objective, x, history = _run(1.0)
    assert len(objective.calls) == len(history) == 12
    assert [row["step"] for row in history] == list(range(12))
    assert [row["total"] for row in history] == [torch.tensor(c).item() for c in objective.calls]
    final = objective(x)["total"].mean().item()
    assert final < 1e-3 * history[0]["total"] and final < history[-1]["total"]


def test_huge_initial_losses_take_the_same_path() -> None:
    _, small, _ = _run(1.0)
    _, huge, huge_history = _run(1e20)
    assert huge_history[0]["total"] > 1e22 and all(torch.isfinite(torch.tensor(r["total"])) for r in huge_history)
    assert torch.allclose(huge, small, rtol=1e-4, atol=1e-4)
