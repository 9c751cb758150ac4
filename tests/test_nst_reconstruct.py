"""Reconstructions from noise: one row per style layer prefix and per content layer, in one batch."""
import torch

import defaults
from apeart.core.grids import tile_grid
from apeart.studies.reconstruct import reconstruct
from apeart.studies.sweep import beta_grid, sweep_betas

CPU = torch.device("cpu")



def _image(seed: int, size: int = 32) -> torch.Tensor:
    return torch.rand(3, size, size, generator=torch.Generator().manual_seed(seed))


def test_style_prefixes_and_content_layers() -> None:
    params = defaults.nst(style_layers=["conv1_1", "conv2_1", "conv3_1"], reconstruct_content_layers=["conv2_2", "conv4_2"],
                       reconstruct_size=64, reconstruct_steps=3)
    rec = reconstruct(_image(0), _image(1, 40), params, CPU)
    assert rec.style_images.shape == (3, 3, 32, 32)  # capped at the content's 32 px
    assert rec.content_images.shape == (2, 3, 32, 32)
    assert rec.style_labels == ["conv1_1", "+conv2_1", "+conv3_1"] and rec.content_labels == ["conv2_2", "conv4_2"]
    # Style rows carry no content loss and content rows no style loss.
    assert all(l["content"] == 0 for l in rec.losses[:3]) and all(l["style"] == 0 for l in rec.losses[3:])
    assert all(l["style"] > 0 for l in rec.losses[:3]) and all(l["content"] > 0 for l in rec.losses[3:])
    sheet = tile_grid([[_image(1), *rec.style_images]], 32, ["style", *rec.style_labels])
    assert sheet.size[0] > 4 * 32


def test_reconstruction_lowers_its_losses() -> None:
    params = defaults.nst(style_layers=["conv1_1"], reconstruct_content_layers=["conv1_2"], reconstruct_steps=1)
    first = reconstruct(_image(2), _image(3), params, CPU).losses
    params = defaults.nst(style_layers=["conv1_1"], reconstruct_content_layers=["conv1_2"], reconstruct_steps=6)
    later = reconstruct(_image(2), _image(3), params, CPU).losses
    assert later[0]["style"] < first[0]["style"] and later[1]["content"] < first[1]["content"]


def test_in_run_sweep_equals_separate_runs_and_renders() -> None:
    from apeart.nst.transfer import transfer

    content, styles = torch.stack([_image(4), _image(5)]), [_image(6)]
    params = defaults.nst(size=32, steps=2, optimizer="adam", lr=2.0)
    results = sweep_betas(content, styles, params, CPU, [1e1, 1e3])
    alone = transfer(content, styles, defaults.nst(size=32, steps=2, optimizer="adam", lr=2.0, beta=1e3), CPU)
    assert torch.allclose(results[1e3].images, alone.images, atol=1e-5)
    sheet = beta_grid(["0", "1"], list(content), {b: list(r.images) for b, r in results.items()}, 32, styles[0])
    assert sheet.size[1] > 2 * 96 and sheet.size[0] > 4 * 96  # 2 rows; content, 2 betas, style
