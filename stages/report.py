"""Stage report: loss plots, content | style | result rows and the self-contained reports/index.html, which
leads with the headline numbers and pictures and folds every param and metric away at the end."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from apeart.core.cli import run_stage
from apeart.core.config import speed_only
from apeart.params import load_params
from apeart.core.files import save_png, write_bytes
from apeart.core.grids import rows, tile_grid, to_pil
from apeart.nst.inputs import image_files, load_inputs, load_rgb, style_tile
from apeart.report.html import figure, gallery, render_report
from apeart.report.plots import loss_plot

FIG = Path("reports/figures")
GAN = Path("reports/gan")
GAN_CURVES = Path("metrics/gan/curves")
NST_CURVES = Path("metrics/nst/curves")
TEXNET_CURVES = Path("metrics/texnet/curves")
TEXNET = Path("reports/texnet")
VAEGAN = Path("reports/vaegan")
VAEGAN_CURVES = Path("metrics/vaegan/curves")
# Exactly the metrics this stage lists as deps in dvc.yaml, so the page is byte-identical across reruns.
METRICS = [Path("metrics/gan/train.json"), Path("metrics/gan/quality.json"), Path("metrics/nst/metrics.json"),
           Path("metrics/texnet/train.json"), Path("metrics/texnet/held_out.json"), Path("metrics/vaegan/quality.json"),
           Path("metrics/vaegan/train.json")]


def read_metrics() -> dict[str, dict]:
    """Every metrics file merged into one tree: {"gan": {"train": ..., "fd_vgg19": ...}, "nst": ..., ...}."""
    merged: dict[str, dict] = {}
    for path in METRICS:
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
         f"{vae['untrained_ceiling']['fd_vgg19']:.1f}; KID {vae['kid_vgg19']:.3f} vs the DCGAN's {gan['kid_vgg19']:.3f}"),
        ("Gatys NST total loss (stylize)", f"{nst['total_loss']:.4g}",
         f"content {nst['content_loss']:.4g} + beta x style {nst['style_loss']:.4g}, batch mean of the saved images"),
        ("Texture network / Gatys total loss", f"{tex['loss_vs_gatys']:.2f}",
         f"held-out images, same style and loss: texture network {held['total_loss']:.4g} "
         f"(content {held['content_loss']:.4g}), Gatys {held['gatys_total_loss']:.4g} "
         f"(content {held['gatys_content_loss']:.4g}); 1 = as good as Gatys' 60 L-BFGS steps on these images"),
    ]


def main() -> None:
    params = load_params()
    write_bytes(FIG / "gan_losses.png", loss_plot(
        {"D": GAN_CURVES / "d_loss.tsv", "G": GAN_CURVES / "g_loss.tsv"}, "DCGAN losses (mean over windows of iterations)"))
    write_bytes(FIG / "nst_losses.png", loss_plot(
        {"content": NST_CURVES / "content_loss.tsv", "style": NST_CURVES / "style_loss.tsv",
         "total": NST_CURVES / "total_loss.tsv"}, "NST losses per step (batch mean)", log_y=True))
    write_bytes(FIG / "texnet_losses.png", loss_plot(
        {"content": TEXNET_CURVES / "content_loss.tsv", "style": TEXNET_CURVES / "style_loss.tsv",
         "total": TEXNET_CURVES / "total_loss.tsv"}, "Texture network training losses (mean over windows of steps)", log_y=True))

    write_bytes(FIG / "vaegan_losses.png", loss_plot(
        {"prior (KL)": VAEGAN_CURVES / "kl.tsv", "reconstruction (Dis_l)": VAEGAN_CURVES / "llike.tsv",
         "discriminator": VAEGAN_CURVES / "d_loss.tsv"}, "VAE-GAN losses (mean over windows of iterations)", log_y=True))
    dcgan_final = GAN / "progress" / f"epoch_{params.gan.epochs:03d}.png"
    pair = [load_rgb(dcgan_final), load_rgb(VAEGAN / "samples.png")]
    save_png(tile_grid([pair], max(t.shape[-1] for t in pair), col_labels=["DCGAN", "VAE-GAN"]), FIG / "dcgan_vs_vaegan.png")

    names, content, styles = load_inputs(params.nst)
    tile = style_tile(styles, params.nst.size)
    results = [load_rgb(Path("reports/nst/results") / f"{n}.png") for n in names]
    save_png(to_pil(rows([list(content), [tile] * len(names), results], params.nst.size)),
             FIG / "nst_rows.png")

    snapshots = [figure(p, f"NST batch at step {int(p.stem.split('_')[1])}")
                 for p in image_files(Path("reports/nst/snapshots"))]
    sections = [
        ("Neural style transfer", [figure(FIG / "nst_rows.png", "Gatys NST: content | style batch | result"),
                                   figure(FIG / "nst_losses.png", "NST losses per step (batch mean, log scale)"),
                                   gallery(snapshots)]),
        ("Texture network", [figure(TEXNET / "comparison.png", "Held-out images: content | Gatys | texture network "
                                    "(same style, size and loss)"),
                             figure(TEXNET / "contact_sheet.png", "The collection through the texture network (first 64)"),
                             figure(TEXNET / "noise_scales.png", "Test-time input noise scale k (seed 002 fig. 6)"),
                             figure(FIG / "texnet_losses.png", "Texture network training losses (window means, log scale)")]),
        ("GAN training", [gallery([figure(GAN / "progress.gif", "Fixed-noise samples over training"),
                                   figure(GAN / "progress_strip.png", "Fixed noise (rows) by epoch (columns)")]),
                          figure(GAN / "real_vs_fake.png", "Real (left) vs generated (right)"),
                          figure(GAN / "interpolation.png", "Latent interpolation (slerp), one walk per row"),
                          figure(FIG / "gan_losses.png", "Discriminator and generator loss (window means over iterations)")]),
        ("VAE-GAN (seed 003)", [figure(FIG / "dcgan_vs_vaegan.png", "Samples from fixed prior noise, DCGAN | VAE-GAN "
                                       "(seed 003 fig. 5), each after its own training run"),
                                figure(VAEGAN / "reconstructions.png", "Real | reconstruction pairs through the encoder"),
                                figure(VAEGAN / "latent_walk.png", "Latent walks between two real apes (first and last "
                                       "column) through the encoder"),
                                figure(FIG / "vaegan_losses.png", "VAE-GAN prior, reconstruction and discriminator losses "
                                       "(window means over iterations; seed 003 fig. 4; log scale)")]),
        ("Style batches", [gallery([figure(p, p.stem.replace("_", " "))
                                    for p in image_files(Path("reports/styles"))])]),
    ]
    p = params
    subtitle = (f"{p.data.source} collection, {p.data.limit} images; DCGAN {p.gan.epochs} epochs; "
                f"NST {p.nst.steps} {p.nst.optimizer} steps at {p.nst.size}px, alpha {p.nst.alpha:g}, "
                f"beta {p.nst.beta:g}, style from {p.nst.style_source} ({p.sample.model}); VAE-GAN {p.vaegan.epochs} epochs; texture network {p.texnet.epochs} epochs on "
                f"{p.texnet.train_images or 'all'} images at {p.texnet.size}px")
    # Every param that can shape an output: speed-only knobs are no deps of any stage, so none is shown
    # (and prepare, with nothing else, has no table).
    shown = {section: kept for section, values in dataclasses.asdict(params).items()
             if (kept := {k: v for k, v in values.items() if k not in speed_only(getattr(params, section))})}
    metrics = read_metrics()
    page = render_report("BAYC art pipeline report", shown, metrics, sections, subtitle, headline(metrics))
    write_bytes(Path("reports/index.html"), page.encode())
    print("report: reports/index.html")


if __name__ == "__main__":
    run_stage("report", main)
