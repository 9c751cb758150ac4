"""Stage report: loss plots, content | style | result rows and the self-contained reports/index.html."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from apeart.core.cli import run_stage
from apeart.core.config import load_params, speed_only
from apeart.core.files import save_png, write_bytes
from apeart.core.grids import rows, style_tile, to_pil
from apeart.nst.inputs import image_files, load_inputs, load_rgb
from apeart.report.html import figure, gallery, render_report
from apeart.report.plots import loss_plot

FIG = Path("reports/figures")
GAN = Path("reports/gan")
GAN_CURVES = Path("metrics/train_gan/plots/metrics")
NST_CURVES = Path("metrics/stylize/plots/metrics")
# Exactly the metrics this stage lists as deps in dvc.yaml (timings live in metrics/perf/, not here),
# so the page is byte-identical across reruns.
METRICS = [Path("metrics/train_gan/metrics.json"), Path("metrics/gan.json"), Path("metrics/stylize/metrics.json")]


def read_metrics() -> dict[str, dict]:
    """The metrics files by source name (train_gan, gan, stylize)."""
    return {(p.parent.name if p.stem == "metrics" else p.stem): json.loads(p.read_text()) for p in METRICS}


def main() -> None:
    params = load_params()
    write_bytes(FIG / "gan_losses.png", loss_plot(
        {"D": GAN_CURVES / "d_loss.tsv", "G": GAN_CURVES / "g_loss.tsv"}, "DCGAN losses per iteration"))
    write_bytes(FIG / "nst_losses.png", loss_plot(
        {"content": NST_CURVES / "content_loss.tsv", "style": NST_CURVES / "style_loss.tsv",
         "total": NST_CURVES / "total_loss.tsv"}, "NST losses per step (batch mean)", log_y=True))

    names, content, styles = load_inputs(params.nst)
    tile = style_tile(styles, params.nst.size)
    results = [load_rgb(Path("reports/nst/results") / f"{n}.png") for n in names]
    save_png(to_pil(rows([list(content), [tile] * len(names), results], params.nst.size)),
             FIG / "nst_rows.png")

    snapshots = [figure(p, f"NST batch at step {int(p.stem.split('_')[1])}")
                 for p in image_files(Path("reports/nst/snapshots"))]
    sections = [
        ("GAN training", [gallery([figure(GAN / "progress.gif", "Fixed-noise samples over training"),
                                   figure(GAN / "progress_strip.png", "Fixed noise (rows) by epoch (columns)")]),
                          figure(GAN / "real_vs_fake.png", "Real (left) vs generated (right)"),
                          figure(GAN / "interpolation.png", "Latent interpolation (slerp), one walk per row"),
                          figure(FIG / "gan_losses.png", "Discriminator and generator loss per iteration")]),
        ("Style batches", [gallery([figure(p, p.stem.replace("_", " "))
                                    for p in image_files(Path("reports/styles"))])]),
        ("Neural style transfer", [figure(FIG / "nst_rows.png", "content | style | result"),
                                   figure(FIG / "nst_losses.png", "NST losses per step (batch mean)"),
                                   gallery(snapshots)]),
    ]
    p = params
    subtitle = (f"{p.data.source} collection, {p.data.limit} images; DCGAN {p.gan.epochs} epochs; "
                f"NST {p.nst.steps} {p.nst.optimizer} steps at {p.nst.size}px, alpha {p.nst.alpha:g}, "
                f"beta {p.nst.beta:g}, style from {p.nst.style_source}")
    # Every param that can shape an output: speed-only knobs are no deps of any stage, so none is shown
    # (and prepare, with nothing else, has no table).
    shown = {section: kept for section, values in dataclasses.asdict(params).items()
             if (kept := {k: v for k, v in values.items() if k not in speed_only(getattr(params, section))})}
    page = render_report("BAYC art pipeline report", shown, read_metrics(), sections,
                         subtitle)
    write_bytes(Path("reports/index.html"), page.encode())
    print("report: reports/index.html")


if __name__ == "__main__":
    run_stage("report", main)
