"""Colour preservation helpers: YIQ round trip, luminance matching, linear colour transfer."""
import torch

from apeart.nst import color


def _image(seed: int) -> torch.Tensor:
    return torch.rand(3, 16, 16, generator=torch.Generator().manual_seed(seed))


def test_yiq_round_trip() -> None:
    x = _image(0)
    assert torch.allclose(color.yiq_to_rgb(color.rgb_to_yiq(x)), x, atol=1e-5)


def test_match_luminance_gives_gray_with_content_stats() -> None:
    style, content = _image(1), _image(2) * 0.5
    out = color.match_luminance(style, content)
    assert torch.equal(out[0], out[1]) and torch.equal(out[1], out[2])
    assert abs(float(out[0].mean()) - float(color.luminance(content).mean())) < 0.02


def test_merge_luminance_takes_chroma_from_content() -> None:
    result, content = _image(3), _image(4)
    merged = color.merge_luminance(result, content)
    yiq_m, yiq_c, yiq_r = color.rgb_to_yiq(merged), color.rgb_to_yiq(content), color.rgb_to_yiq(result)
    inside = (merged > 0.01).all(0) & (merged < 0.99).all(0)  # away from clamping
    assert torch.allclose(yiq_m[1:, inside], yiq_c[1:, inside], atol=1e-4)
    assert torch.allclose(yiq_m[0, inside], yiq_r[0, inside], atol=1e-4)


def test_match_colors_gives_content_mean_and_covariance() -> None:
    style = _image(5) * torch.tensor([0.3, 0.6, 0.2]).view(3, 1, 1) + 0.2
    content = _image(6) * torch.tensor([0.5, 0.2, 0.4]).view(3, 1, 1) + 0.1
    out = color.match_colors(style, content)
    assert torch.allclose(out.reshape(3, -1).mean(1), content.reshape(3, -1).mean(1), atol=1e-3)
    assert torch.allclose(torch.cov(out.reshape(3, -1)), torch.cov(content.reshape(3, -1)), atol=1e-3)
