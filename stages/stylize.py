"""Stage stylize: batched Gatys NST of the content set towards a GAN style batch or paintings."""
from __future__ import annotations

import sys
from pathlib import Path

from apeart.core.cli import run_stage
from apeart.core.config import load_section
from apeart.nst.params import NstParams
from apeart.core.files import save_png, write_json
from apeart.core.grids import grid, to_pil
from apeart.core.metrics import write_curves, write_metrics
from apeart.core.runtime import deterministic, machine, peak_rss_mb, resolve_device
from apeart.nst.inputs import load_inputs
from apeart.nst.optimise import TERMS, NSTError
from apeart.nst.transfer import transfer
from apeart.vgg.backbones import weights_record

OUT = Path("reports/nst")


def main() -> None:
    params = load_section(NstParams)
    deterministic(params.seed)
    device = resolve_device(params.device)
    names, content, styles = load_inputs(params)

    def on_snapshot(step: int, images) -> None:
        save_png(to_pil(grid(images, nrow=len(images))), OUT / "snapshots" / f"step_{step:05d}.png")

    try:
        result = transfer(content, styles, params, device, on_snapshot)
    except NSTError as error:
        if error.last_good is not None:
            path = OUT / "snapshots" / f"last_good_step_{error.last_good_step:05d}.png"
            save_png(to_pil(grid(error.last_good, nrow=len(error.last_good))), path)
            print(f"stylize: last good images saved to {path}", file=sys.stderr)
        sys.exit(f"stylize: {error}")
    for name, image in zip(names, result.images):
        save_png(to_pil(image), OUT / "results" / f"{name}.png")
    n = len(names)
    write_json(OUT / "losses.json", {name: {f"{t}_loss": v for t, v in zip(TERMS, values)} for name, *values
                                     in zip(names, result.total, result.content, result.style, result.tv)})
    write_json(OUT / "weights.json", weights_record(params.backbone))
    # Curves: batch means, step N = after N updates; the last row (the saved images) is the metrics.
    curves = [{"step": row["step"], **{f"{t}_loss": row[t] for t in TERMS}} for row in result.history]
    write_curves(Path("metrics/nst/curves"), curves, [f"{t}_loss" for t in TERMS])
    # The convention names the losses' units: a preset that changes it shows beside them in `dvc exp show`.
    write_metrics(Path("metrics/nst/metrics.json"), "nst", {
        **{k: v for k, v in curves[-1].items() if k != "step"}, "loss_convention": params.gram_norm, **machine()})
    print(f"stylize: {n} images, {len(result.history) - 1} steps, {result.seconds_per_step:.3f} s/step, "
          f"peak memory {peak_rss_mb():.0f} MiB")


if __name__ == "__main__":
    run_stage("stylize", main)
