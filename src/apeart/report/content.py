"""The report's words: the headline numbers with how to read each, the run's one-line summary, the figure
sections with their captions, and the params shown; `page` puts them into reports/index.html's HTML."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from apeart.core.config import speed_only
from apeart.params import Params
from apeart.nst.inputs import image_files
from apeart.report.html import figure, gallery, render_report

TITLE = "BAYC art pipeline report"
FIG = Path("reports/figures")
GAN = Path("reports/gan")
TEXNET = Path("reports/texnet")
VAEGAN = Path("reports/vaegan")
STYLES = Path("reports/styles")


def read_metrics(paths: list[Path]) -> dict[str, dict]:
    """The metrics files merged into one tree: {"gan": {"train": ..., "fd_vgg19": ...}, "nst": ..., ...}."""
    merged: dict[str, dict] = {}
    for path in paths:
        for model, values in json.loads(path.read_text()).items():
            merged.setdefault(model, {}).update(values)
    return merged


def headline(metrics: dict[str, dict]) -> list[tuple[str, str, str]]:
    """The numbers a reader looks for first, each with how to read it."""
    gan, nst, vae, tex = metrics["gan"], metrics["nst"], metrics["vaegan"], metrics["texnet"]
    held = tex["held_out"]
    return [
        ("DCGAN sample quality, fd_vgg19", f"{gan['fd_vgg19']:.1f}",
         f"lower is better: real vs real {gan['real_floor']['fd_vgg19']:.2f}, untrained generator "
         f"{gan['untrained_ceiling']['fd_vgg19']:.1f}"),
        ("VAE-GAN sample quality, fd_vgg19", f"{vae['fd_vgg19']:.1f}",
         f"the same yardstick: real vs real {vae['real_floor']['fd_vgg19']:.2f}, untrained generator "
         f"{vae['untrained_ceiling']['fd_vgg19']:.1f}; KID {vae['kid_vgg19']:.3f} vs the DCGAN's "
         f"{gan['kid_vgg19']:.3f}"),
        ("Gatys NST total loss (stylize)", f"{nst['total_loss']:.4g}",
         f"content {nst['content_loss']:.4g} + beta x style {nst['style_loss']:.4g}, batch mean of the saved images"),
        ("Texture network / Gatys total loss", f"{tex['loss_vs_gatys']:.2f}",
         f"held-out images, same style and loss: texture network {held['total_loss']:.4g} "
         f"(content {held['content_loss']:.4g}), Gatys {held['gatys_total_loss']:.4g} "
         f"(content {held['gatys_content_loss']:.4g}); 1 = as good as Gatys' 60 L-BFGS steps on these images"),
    ]


def subtitle(p: Params) -> str:
    """The run in one line: the collection and each model's main settings."""
    return (f"{p.data.source} collection, {p.data.limit} images; DCGAN {p.gan.epochs} epochs; "
            f"NST {p.nst.steps} {p.nst.optimizer} steps at {p.nst.size}px, alpha {p.nst.alpha:g}, "
            f"beta {p.nst.beta:g}, style from {p.nst.style_source} ({p.sample.model}); VAE-GAN {p.vaegan.epochs} "
            f"epochs; texture network {p.texnet.epochs} epochs on {p.texnet.train_images or 'all'} images at "
            f"{p.texnet.size}px")


def sections() -> list[tuple[str, list[str]]]:
    """The figure sections, each a heading and its captioned figures (a missing file is a note saying so)."""
    snapshots = [figure(p, f"NST batch at step {int(p.stem.split('_')[1])}")
                 for p in image_files(Path("reports/nst/snapshots"))]
    return [
        ("Neural style transfer", [
            figure(FIG / "nst_rows.png", "Gatys NST: content | style batch | result"),
            figure(FIG / "nst_losses.png", "NST losses per step (batch mean, log scale)"),
            gallery(snapshots)]),
        ("Texture network", [
            figure(TEXNET / "comparison.png", "Held-out images: content | Gatys | texture network "
                   "(same style, size and loss)"),
            figure(TEXNET / "contact_sheet.png", "The collection through the texture network (first 64)"),
            figure(TEXNET / "noise_scales.png", "Test-time input noise scale k (seed 002 fig. 6)"),
            figure(FIG / "texnet_losses.png", "Texture network training losses (window means, log scale)")]),
        ("GAN training", [
            gallery([figure(GAN / "progress.gif", "Fixed-noise samples over training"),
                     figure(GAN / "progress_strip.png", "Fixed noise (rows) by epoch (columns)")]),
            figure(GAN / "real_vs_fake.png", "Real (left) vs generated (right)"),
            figure(GAN / "interpolation.png", "Latent interpolation (slerp), one walk per row"),
            figure(FIG / "gan_losses.png", "Discriminator and generator loss (window means over iterations)")]),
        ("VAE-GAN (seed 003)", [
            figure(FIG / "dcgan_vs_vaegan.png", "Samples from fixed prior noise, DCGAN | VAE-GAN "
                   "(seed 003 fig. 5), each after its own training run"),
            figure(VAEGAN / "reconstructions.png", "Real | reconstruction pairs through the encoder"),
            figure(VAEGAN / "latent_walk.png", "Latent walks between two real apes (first and last "
                   "column) through the encoder"),
            figure(FIG / "vaegan_losses.png", "VAE-GAN prior, reconstruction and discriminator losses "
                   "(window means over iterations; seed 003 fig. 4; log scale)")]),
        ("Style batches", [gallery([figure(p, p.stem.replace("_", " ")) for p in image_files(STYLES)])]),
    ]


def shown_params(params: Params) -> dict[str, dict]:
    """Every param that can shape an output: speed-only knobs are no deps of any stage, so none is shown
    (and prepare, with nothing else, has no table)."""
    return {section: kept for section, values in dataclasses.asdict(params).items()
            if (kept := {k: v for k, v in values.items() if k not in speed_only(getattr(params, section))})}


def page(params: Params, metrics: dict[str, dict]) -> str:
    """reports/index.html: the headline, the figure sections, then every metric and param folded away."""
    return render_report(TITLE, shown_params(params), metrics, sections(), subtitle(params), headline(metrics))
