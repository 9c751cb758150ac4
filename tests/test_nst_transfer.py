"""Batched optimisation: losses fall, batching equals per-image runs, divergence is reported."""
import pytest
import torch

from apeart.config import NstParams
from apeart.nst.transfer import NSTError, snapshot_steps, transfer

CPU = torch.device("cpu")


def _images(n: int, size: int, seed: int) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def test_snapshot_steps_cover_start_middle_end() -> None:
    assert snapshot_steps(60, 3) == [0, 30, 60]
    assert snapshot_steps(5, 1) == [5]


def test_lbfgs_lowers_the_loss_and_snapshots() -> None:
    params = NstParams(size=32, steps=8, snapshots=3)
    seen = []
    result = transfer(_images(2, 32, 0), list(_images(3, 32, 1)), params, CPU, lambda s, x: seen.append((s, x.shape)))
    history = result.history
    assert history[-1]["total"] < 0.5 * history[0]["total"]
    assert [s for s, _ in seen] == [0, 4, 8] and all(shape == (2, 3, 32, 32) for _, shape in seen)
    assert result.images.shape == (2, 3, 32, 32) and 0 <= result.images.min() and result.images.max() <= 1
    assert len(result.content) == len(result.style) == 2


def test_batch_equals_single_images_with_adam() -> None:
    params = NstParams(size=32, steps=5, optimizer="adam", lr=2.0)
    content, styles = _images(2, 32, 2), list(_images(2, 32, 3))
    batched = transfer(content, styles, params, CPU)
    for i in range(2):
        single = transfer(content[i : i + 1], styles, params, CPU)
        assert torch.allclose(single.images[0], batched.images[i], atol=2e-3)
        assert single.style[0] == pytest.approx(batched.style[i], rel=1e-3)


def test_noise_init_and_avg_pooling_and_unnormalised_gram_run() -> None:
    params = NstParams(size=32, steps=2, init="noise", pooling="avg", gram_norm="none", beta=1e-5, tv_weight=1.0)
    result = transfer(_images(1, 32, 4), list(_images(1, 48, 5)), params, CPU)
    assert result.history[0]["tv"] > 0 and result.style[0] > 0


def test_divergence_names_step_and_term() -> None:
    content = _images(1, 32, 6)
    content[0, 0, 5, 5] = float("nan")
    with pytest.raises(NSTError, match=r"NaN/inf total loss at step 1"):
        transfer(content, list(_images(1, 32, 7)), NstParams(size=32, steps=3, optimizer="adam"), CPU)
