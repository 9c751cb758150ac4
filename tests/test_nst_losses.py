"""Gram matrices and Gatys losses against hand-computed values."""
import torch

from apeart.nst.losses import REFERENCE_SIDE, Convention, StyleTarget, content_loss, gram, style_loss, tv_loss

RAW, GATYS = Convention("sum"), Convention("gatys")


def test_gram_by_hand() -> None:
    # One image, 2 channels, 1x2 positions: F = [[1, 2], [3, 4]] -> F F^T = [[5, 11], [11, 25]].
    f = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])
    assert torch.equal(gram(f, RAW)[0], torch.tensor([[5.0, 11.0], [11.0, 25.0]]))
    # Gatys scaling 1/(2 N M) with N=2 channels, M=2 positions.
    assert torch.allclose(gram(f, GATYS)[0], torch.tensor([[5.0, 11.0], [11.0, 25.0]]) / 8)
    # PyTorch tutorial: Gram / (N M), then a mean over the N^2 entries: 1 / (N^2 M) on the plain Gram's terms.
    assert torch.allclose(gram(f, Convention("mean"))[0], torch.tensor([[5.0, 11.0], [11.0, 25.0]]) / 8)
    # ... in torchvision units: features twice torchvision's -> a further 1/2^2.
    assert torch.allclose(gram(f, Convention("mean", 2.0))[0], torch.tensor([[5.0, 11.0], [11.0, 25.0]]) / 32)


def test_normalized_distance_is_gatys_el() -> None:
    torch.manual_seed(0)
    x, a = torch.randn(1, 3, 4, 5), torch.randn(1, 3, 4, 5)
    n, m = 3, 20
    raw = (gram(x, RAW) - gram(a, RAW)).pow(2).sum()
    expected = raw / (4 * n**2 * m**2)
    got = style_loss(x, StyleTarget.from_grams(gram(a, GATYS)), GATYS)
    assert torch.allclose(got, expected.reshape(1), rtol=1e-5)


def test_content_loss_by_hand_per_image() -> None:
    f = torch.tensor([[[[1.0, 2.0]]], [[[0.0, 0.0]]]])
    p = torch.tensor([[[[0.0, 0.0]]], [[[3.0, 0.0]]]])
    assert torch.equal(content_loss(f, p, GATYS), torch.tensor([0.5 * 5, 0.5 * 9]))
    assert torch.equal(content_loss(f, p, Convention("mean")), torch.tensor([5 / 2, 9 / 2]))  # mean over 2


def test_seed000_is_seed_000s_sums_in_torchvision_units_at_356_px() -> None:
    """sum356 at 178 px with features 2x torchvision's: raw sums / 2^2 (units) x 4 (area, 356^2 / 178^2)."""
    f, p = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]]), torch.zeros(1, 2, 1, 2)
    convention = Convention.of("sum356", 2.0, REFERENCE_SIDE // 2, REFERENCE_SIDE // 2)
    assert convention.area_ratio == 4
    assert torch.allclose(gram(f, convention)[0], torch.tensor([[5.0, 11.0], [11.0, 25.0]]))  # 1/4 x 4
    assert torch.equal(content_loss(f, p, convention), torch.tensor([30.0]))  # no 1/2: seed 000's sum


def test_blended_target_equals_mean_of_distances() -> None:
    torch.manual_seed(1)
    x = torch.randn(2, 4, 3, 3)
    styles = gram(torch.randn(5, 4, 3, 3), GATYS)
    target = StyleTarget.from_grams(styles)
    direct = torch.stack([(gram(x, GATYS)[b] - styles).pow(2).flatten(1).sum(1).mean() for b in range(2)])
    assert torch.allclose(style_loss(x, target, GATYS), direct, rtol=1e-5)


def test_tv_by_hand() -> None:
    img = torch.tensor([[[[0.0, 1.0], [3.0, 3.0]]]])
    # horizontal diffs: 1, 0 -> 1; vertical diffs: 3, 2 -> 13
    assert torch.equal(tv_loss(img), torch.tensor([14.0]))


def test_gram_gradient_in_both_layouts() -> None:
    torch.manual_seed(2)
    f = torch.randn(2, 3, 4, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: gram(t, GATYS), (f,))
    assert torch.autograd.gradcheck(lambda t: gram(t.contiguous(memory_format=torch.channels_last), GATYS), (f,))
    cl = f.detach().contiguous(memory_format=torch.channels_last)
    assert torch.allclose(gram(cl, GATYS), gram(f.detach(), GATYS))
