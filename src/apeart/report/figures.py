"""The report's own figures: loss plots, DCGAN | VAE-GAN samples and content | style batch | result rows."""
from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image

from apeart.core.grids import rows, tile_grid, to_pil
from apeart.nst.inputs import style_tile
from apeart.report.plots import loss_plot

GAN_CURVES = Path("metrics/gan/curves")
NST_CURVES = Path("metrics/nst/curves")
TEXNET_CURVES = Path("metrics/texnet/curves")
VAEGAN_CURVES = Path("metrics/vaegan/curves")
TERMS = ("content", "style", "total")
# Each loss plot: its file name, the curves drawn (label: TSV), its title and whether the y axis is logarithmic.
LOSS_PLOTS = [
    ("gan_losses.png", {"D": GAN_CURVES / "d_loss.tsv", "G": GAN_CURVES / "g_loss.tsv"},
     "DCGAN losses (mean over windows of iterations)", False),
    ("nst_losses.png", {t: NST_CURVES / f"{t}_loss.tsv" for t in TERMS}, "NST losses per step (batch mean)", True),
    ("texnet_losses.png", {t: TEXNET_CURVES / f"{t}_loss.tsv" for t in TERMS},
     "Texture network training losses (mean over windows of steps)", True),
    ("vaegan_losses.png", {"prior (KL)": VAEGAN_CURVES / "kl.tsv",
                           "reconstruction (Dis_l)": VAEGAN_CURVES / "llike.tsv",
                           "discriminator": VAEGAN_CURVES / "d_loss.tsv"},
     "VAE-GAN losses (mean over windows of iterations)", True),
]


def loss_plots() -> dict[str, bytes]:
    """Every LOSS_PLOTS figure as PNG bytes, by file name."""
    return {name: loss_plot(curves, title, log_y) for name, curves, title, log_y in LOSS_PLOTS}


def dcgan_vs_vaegan(dcgan: torch.Tensor, vaegan: torch.Tensor) -> Image.Image:
    """The two generators' sample grids (RGB [0, 1]) side by side, labelled, at the larger one's size."""
    return tile_grid([[dcgan, vaegan]], max(dcgan.shape[-1], vaegan.shape[-1]), col_labels=["DCGAN", "VAE-GAN"])


def nst_rows(content: torch.Tensor, styles: list[torch.Tensor], results: list[torch.Tensor], size: int) -> Image.Image:
    """One row per content image: content | the style images as one tile | result, tiles `size` px."""
    return to_pil(rows([list(content), [style_tile(styles, size)] * len(results), results], size))
