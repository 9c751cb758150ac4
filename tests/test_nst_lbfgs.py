"""The synchronisation-free L-BFGS follows torch.optim.LBFGS(max_iter=1) step for step."""
import torch

from apeart.nst.lbfgs import LBFGS


def _trajectory(make, steps: int = 14) -> torch.Tensor:
    torch.manual_seed(0)
    a = torch.randn(24, 24, dtype=torch.float64)
    a = a @ a.T + torch.eye(24, dtype=torch.float64)
    b = torch.randn(24, dtype=torch.float64)
    x = torch.zeros(4, 6, dtype=torch.float64, requires_grad=True)
    opt = make(x)
    out = []

    def closure():
        opt.zero_grad()
        v = x.reshape(-1)
        loss = 0.5 * v @ a @ v - b @ v + 0.01 * v.pow(4).sum()
        loss.backward()
        return loss

    for _ in range(steps):
        opt.step(closure)
        out.append(x.detach().clone())
    return torch.stack(out)


def test_matches_torch_lbfgs_including_a_full_history_ring() -> None:
    ours = _trajectory(lambda x: LBFGS(x, lr=1.0, history_size=5))
    torch_ = _trajectory(lambda x: torch.optim.LBFGS([x], lr=1.0, max_iter=1, history_size=5,
                                                    tolerance_grad=0.0, tolerance_change=0.0))
    assert torch.allclose(ours, torch_, atol=1e-9, rtol=1e-7)


def test_zero_gradient_leaves_x_unchanged() -> None:
    x = torch.ones(3, requires_grad=True)
    opt = LBFGS(x)

    def closure():
        opt.zero_grad()
        loss = (x * 0).sum()
        loss.backward()
        return loss

    for _ in range(3):
        opt.step(closure)
    assert torch.equal(x.detach(), torch.ones(3))
