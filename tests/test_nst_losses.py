"""Gram matrices and Gatys losses against hand-computed values."""
import torch

from apeart.nst.losses import StyleTarget, content_loss, gram, style_loss, tv_loss


def test_gram_by_hand() -> None:
    # One image, 2 channels, 1x2 positions: F = [[1, 2], [3, 4]] -> F F^T = [[5, 11], [11, 25]].
    f = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])
    assert torch.equal(gram(f, normalize=False)[0], torch.tensor([[5.0, 11.0], [11.0, 25.0]]))
    # Gatys scaling 1/(2 N M) with N=2 channels, M=2 positions.
    assert torch.allclose(gram(f)[0], torch.tensor([[5.0, 11.0], [11.0, 25.0]]) / 8)


def test_normalized_distance_is_gatys_el() -> None:
    torch.manual_seed(0)
    x, a = torch.randn(1, 3, 4, 5), torch.randn(1, 3, 4, 5)
    n, m = 3, 20
    raw = (gram(x, False) - gram(a, False)).pow(2).sum()
    expected = raw / (4 * n**2 * m**2)
    got = style_loss(x, StyleTarget.from_grams(gram(a)))
    assert torch.allclose(got, expected.reshape(1), rtol=1e-5)


def test_content_loss_by_hand_per_image() -> None:
    f = torch.tensor([[[[1.0, 2.0]]], [[[0.0, 0.0]]]])
    p = torch.tensor([[[[0.0, 0.0]]], [[[3.0, 0.0]]]])
    assert torch.equal(content_loss(f, p), torch.tensor([0.5 * 5, 0.5 * 9]))


def test_blended_target_equals_mean_of_distances() -> None:
    torch.manual_seed(1)
    x = torch.randn(2, 4, 3, 3)
    styles = gram(torch.randn(5, 4, 3, 3))
    target = StyleTarget.from_grams(styles)
    direct = torch.stack([(gram(x)[b] - styles).pow(2).flatten(1).sum(1).mean() for b in range(2)])
    assert torch.allclose(style_loss(x, target), direct, rtol=1e-5)


def test_tv_by_hand() -> None:
    img = torch.tensor([[[[0.0, 1.0], [3.0, 3.0]]]])
    # horizontal diffs: 1, 0 -> 1; vertical diffs: 3, 2 -> 13
    assert torch.equal(tv_loss(img), torch.tensor([14.0]))


def test_gram_gradient_in_both_layouts() -> None:
    torch.manual_seed(2)
    f = torch.randn(2, 3, 4, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: gram(t), (f,))
    assert torch.autograd.gradcheck(lambda t: gram(t.contiguous(memory_format=torch.channels_last)), (f,))
    cl = f.detach().contiguous(memory_format=torch.channels_last)
    assert torch.allclose(gram(cl), gram(f.detach()))
