"""Stage report: loss plots, content | style | result rows and the self-contained reports/index.html."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch

from apeart.config import load_params
from apeart.files import save_png, write_bytes
from apeart.nst.inputs import image_files, load_content, load_rgb, load_styles
from apeart.report.grids import grid, rows, to_pil
from apeart.report.html import figure, render_report
from apeart.report.plots import loss_plot

FIG = Path("reports/figures")
GAN_CURVES = Path("metrics/train_gan/plots/metrics")
NST_CURVES = Path("metrics/stylize/plots/metrics")


def main() -> None:
    params = load_params()
    write_bytes(FIG / "gan_losses.png", loss_plot(
        {"D": GAN_CURVES / "d_loss.tsv", "G": GAN_CURVES / "g_loss.tsv"}, "DCGAN losses per iteration"))
    write_bytes(FIG / "nst_losses.png", loss_plot(
        {"content (x alpha)": NST_CURVES / "content.tsv", "style": NST_CURVES / "style.tsv",
         "total": NST_CURVES / "total.tsv"}, "NST losses per step (batch mean)", log_y=True))

    names, content = load_content(Path("data/prepared/content"))
    styles = load_styles(params.nst, Path("data/styles/gan"))
    style_tile = grid(torch.stack([s[:, : min(s.shape[1:]), : min(s.shape[1:])] for s in styles]),
                      nrow=int(len(styles) ** 0.5 + 0.999))
    results = [load_rgb(Path("reports/nst/results") / f"{n}.png") for n in names]
    save_png(to_pil(rows([list(content), [style_tile] * len(names), results], params.nst.size)),
             FIG / "nst_rows.png")

    metrics = {p.stem: json.loads(p.read_text()) for p in sorted(Path("metrics").glob("*.json"))}
    for live in ("train_gan", "stylize"):
        metrics[live] = json.loads((Path("metrics") / live / "metrics.json").read_text())
    snapshots = [figure(p, f"NST batch at step {int(p.stem.split('_')[1])}")
                 for p in image_files(Path("reports/nst/snapshots"))]
    sections = [
        ("GAN training", [figure(Path(f"reports/gan/progress_{x}.png"), f"Fixed-noise samples, {x} of training")
                          for x in ("start", "middle", "end")]
         + [figure(Path("reports/gan/real_vs_fake.png"), "Real (left) vs generated (right)"),
            figure(FIG / "gan_losses.png", "Discriminator and generator loss per iteration")]),
        ("Style batches", [figure(p, p.stem) for p in image_files(Path("reports/styles"))]),
        ("Neural style transfer", [figure(FIG / "nst_rows.png", "content | style | result"),
                                   figure(FIG / "nst_losses.png", "NST losses per step"), *snapshots]),
    ]
    page = render_report("BAYC art pipeline report", dataclasses.asdict(params), metrics, sections)
    write_bytes(Path("reports/index.html"), page.encode())
    print("report: reports/index.html")


if __name__ == "__main__":
    main()
