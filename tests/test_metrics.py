"""Frechet distance and KID against closed forms."""
import torch

from apeart.gan.quality import VGGEmbedding, frechet_distance, kernel_inception_distance


def test_fd_of_a_set_with_itself_is_zero() -> None:
    x = torch.randn(400, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert abs(frechet_distance(x, x)) < 1e-8


def test_fd_closed_form_for_shifted_and_scaled_gaussians() -> None:
    g = torch.Generator().manual_seed(1)
    a = torch.randn(20000, 3, generator=g, dtype=torch.float64)
    b = 2 * torch.randn(20000, 3, generator=g, dtype=torch.float64) + torch.tensor([1.0, 0.0, -1.0], dtype=torch.float64)
    # N(0, I) vs N(mu, 4I): |mu|^2 + 3 * (1 + 4 - 2 * 2) = 2 + 3
    assert abs(frechet_distance(a, b) - 5.0) < 0.15


def test_kid_near_zero_for_same_distribution_and_positive_otherwise() -> None:
    g = torch.Generator().manual_seed(2)
    a, b = (torch.randn(600, 8, generator=g, dtype=torch.float64) for _ in range(2))
    same, _ = kernel_inception_distance(a, b, subsets=20, subset_size=300)
    shifted, _ = kernel_inception_distance(a, b + 1.0, subsets=20, subset_size=300)
    assert abs(same) < 0.05 and shifted > 10 * abs(same) and shifted > 0.1


def test_vgg_embedding_shape() -> None:
    images = torch.randint(0, 256, (5, 3, 64, 64), dtype=torch.uint8)
    feats = VGGEmbedding(torch.device("cpu"), "conv5_1")(images, batch=2)
    assert feats.shape == (5, 512) and feats.dtype == torch.float64 and (feats >= 0).all()
