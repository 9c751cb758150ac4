"""Stage report: loss plots, content | style | result rows and the self-contained reports/index.html, which
leads with the headline numbers and pictures and folds every param and metric away at the end."""
from __future__ import annotations

from pathlib import Path

from apeart.core.cli import run_stage
from apeart.core.files import save_png, write_bytes
from apeart.nst.inputs import load_inputs, load_rgb
from apeart.params import load_params
from apeart.report.content import FIG, GAN, VAEGAN, page, read_metrics
from apeart.report.figures import dcgan_vs_vaegan, loss_plots, nst_rows

# Exactly the metrics this stage lists as deps in dvc.yaml, so the page is byte-identical across reruns.
METRICS = [Path("metrics/gan/train.json"), Path("metrics/gan/quality.json"), Path("metrics/nst/metrics.json"),
           Path("metrics/texnet/train.json"), Path("metrics/texnet/held_out.json"), Path("metrics/vaegan/quality.json"),
           Path("metrics/vaegan/train.json")]


def main() -> None:
    params = load_params()
    for name, png in loss_plots().items():
        write_bytes(FIG / name, png)
    dcgan = load_rgb(GAN / "progress" / f"epoch_{params.gan.epochs:03d}.png")
    save_png(dcgan_vs_vaegan(dcgan, load_rgb(VAEGAN / "samples.png")), FIG / "dcgan_vs_vaegan.png")
    names, content, styles = load_inputs(params.nst)
    results = [load_rgb(Path("reports/nst/results") / f"{n}.png") for n in names]
    save_png(nst_rows(content, styles, results, params.nst.size), FIG / "nst_rows.png")
    write_bytes(Path("reports/index.html"), page(params, read_metrics(METRICS)).encode())
    print("report: reports/index.html")


if __name__ == "__main__":
    run_stage("report", main)
