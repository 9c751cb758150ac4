"""GAN figures: slerp, the epochs of the progress grids, progress strip and GIF, latent interpolation, and
reports/gan's files as stage gan_figures draws them from saved samples."""
from __future__ import annotations

import dataclasses
import io

import torch
from PIL import Image

import defaults
from apeart.core.grids import grid, side_by_side, to_pil
from apeart.gan.figures import figures, interpolation, progress_gif, progress_grids, progress_strip, slerp
from apeart.gan.models import Generator, init_weights, to_uint8


def test_slerp_ends_at_both_latents_and_keeps_typical_norms() -> None:
    rng = torch.Generator().manual_seed(0)
    a, b = torch.randn(4, 100, generator=rng), torch.randn(4, 100, generator=rng)
    path = slerp(a, b, torch.linspace(0, 1, 9))
    assert path.shape == (4, 9, 100)
    assert torch.allclose(path[:, 0], a, atol=1e-5) and torch.allclose(path[:, -1], b, atol=1e-5)
    lerp_mid = ((a + b) / 2).norm(dim=1)
    slerp_mid = path[:, 4].norm(dim=1)
    # Midway, the straight line shrinks to ~0.71 of the norm of its ends; slerp stays between them.
    assert (slerp_mid > lerp_mid * 1.2).all()
    ends = torch.stack([a.norm(dim=1), b.norm(dim=1)])
    assert (slerp_mid >= ends.min(0).values - 1e-4).all() and (slerp_mid <= ends.max(0).values + 1e-4).all()


def grids(epochs: list[int], n: int = 9) -> dict[int, torch.Tensor]:
    return {e: torch.full((n, 3, 8, 8), e * 20, dtype=torch.uint8) for e in epochs}


def test_progress_strip_puts_epochs_in_columns() -> None:
    strip = progress_strip(grids([0, 5, 10]), samples=4)
    assert strip.shape == (3, 4 * 10 + 2, 3 * 10 + 2)  # 8 px tiles, 2 px padding
    row = strip[:, 2:10, :]
    for col, epoch in enumerate([0, 5, 10]):
        tile = row[:, :, 2 + col * 10 : 10 + col * 10]
        assert torch.allclose(tile, torch.full_like(tile, epoch * 20 / 255))


def test_progress_gif_has_one_frame_per_epoch() -> None:
    gif = Image.open(io.BytesIO(progress_gif(grids([0, 4, 8, 12]), nrow=3)))
    assert gif.format == "GIF" and gif.n_frames == 4 and gif.info["loop"] == 0
    firsts = []
    for i in range(4):
        gif.seek(i)
        firsts.append(gif.convert("RGB").getpixel((5, 5))[0])
    assert [abs(v - e * 20) <= 4 for v, e in zip(firsts, [0, 4, 8, 12])] == [True] * 4, firsts


def test_interpolation_rows_walk_between_two_latents() -> None:
    torch.manual_seed(0)
    G = Generator(nz=16, ngf=8)
    G.apply(init_weights)
    out = interpolation(G, nz=16, rows=2, steps=5, seed=3)
    assert out.shape == (3, 2 * 66 + 2, 5 * 66 + 2)
    rng = torch.Generator().manual_seed(3)
    a = torch.randn(2, 16, generator=rng)
    first = to_uint8(G.eval()(a[:1].view(1, 16, 1, 1)))[0].float() / 255
    assert torch.allclose(out[:, 2:66, 2:66], first, atol=1e-6)
    assert not torch.allclose(out[:, 2:66, 2:66], out[:, 2:66, 2 + 66 * 4 : 66 * 5])


def per_epoch(epochs: int, n: int = 9, side: int = 8) -> torch.Tensor:
    """Saved samples of a run of `epochs` epochs: batch e (epoch e) filled with the value e."""
    return torch.arange(epochs + 1, dtype=torch.uint8).view(-1, 1, 1, 1, 1).expand(-1, n, 3, side, side).clone()


def test_progress_grids_are_epoch_0_every_nth_the_middle_and_the_last() -> None:
    grids = progress_grids(per_epoch(16), size=4, every=5)
    assert sorted(grids) == [0, 5, 8, 10, 15, 16]
    assert all(images.shape == (4, 3, 8, 8) and (images == e).all() for e, images in grids.items())
    assert sorted(progress_grids(per_epoch(1), size=4, every=5)) == [0, 1]
    assert sorted(progress_grids(per_epoch(3), size=4, every=1)) == [0, 1, 2, 3]


def test_figures_are_reports_gan_drawn_from_the_saved_samples() -> None:
    torch.manual_seed(0)
    G = Generator(nz=16, ngf=8)
    G.apply(init_weights)
    samples = torch.randint(0, 256, (4, 6, 3, 64, 64), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)
    data = torch.randint(0, 256, (10, 3, 64, 64), generator=torch.Generator().manual_seed(2), dtype=torch.uint8)
    params = dataclasses.replace(defaults.PARAMS.figures, gan_grid_size=4, gan_grid_every=2, gan_walk_rows=2,
                                 gan_walk_steps=3)
    out = figures(samples, G, 16, data, params, seed=7)
    assert set(out) == {"progress/epoch_000.png", "progress/epoch_001.png", "progress/epoch_002.png",
                        "progress/epoch_003.png", "progress.gif", "progress_strip.png", "interpolation.png",
                        "real_vs_fake.png"}

    def pixels(name: str) -> bytes:
        return Image.open(io.BytesIO(out[name])).convert("RGB").tobytes()

    assert pixels("progress/epoch_003.png") == to_pil(grid(samples[3, :4], 2)).tobytes()
    real = data[torch.randperm(10, generator=torch.Generator().manual_seed(7))[:4]]
    assert pixels("real_vs_fake.png") == to_pil(side_by_side(real, samples[3, :4], 2)).tobytes()
    assert Image.open(io.BytesIO(out["interpolation.png"])).size == (3 * 66 + 2, 2 * 66 + 2)
