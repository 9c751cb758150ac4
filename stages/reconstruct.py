"""Stage reconstruct: style (per layer prefix) and content (per layer) reconstructions from white noise.

Gatys et al. 2016 fig. 1 / seed 001, on the first content image and the first style image, at
nst.reconstruct_size for nst.reconstruct_steps steps -> reports/reconstruct/{style_rows,content_rows}.png.
"""
from __future__ import annotations

from pathlib import Path

from apeart.core.cli import run_stage
from apeart.core.config import load_section
from apeart.nst.params import NstParams
from apeart.core.files import save_png, write_json
from apeart.core.grids import square, tile_grid
from apeart.core.runtime import deterministic, peak_rss_mb, resolve_device
from apeart.nst.inputs import load_inputs
from apeart.studies.reconstruct import reconstruct

OUT = Path("reports/reconstruct")


def main() -> None:
    params = load_section(NstParams)
    deterministic(params.seed)
    device = resolve_device(params.device)
    names, content, styles = load_inputs(params)
    rec = reconstruct(content[0], styles[0], params, device)
    tile = rec.style_images.shape[-1]
    save_png(tile_grid([[square(styles[0]), *rec.style_images]], tile, ["style", *rec.style_labels]),
             OUT / "style_rows.png")
    save_png(tile_grid([[content[0], *rec.content_images]], tile, ["content", *rec.content_labels]),
             OUT / "content_rows.png")
    n_style = len(rec.style_labels)
    write_json(OUT / "reconstruct.json", {
        "content_image": names[0], "size": tile, "steps": params.reconstruct_steps,
        "style": {label: rec.losses[i]["style"] for i, label in enumerate(rec.style_labels)},
        "content": {label: rec.losses[n_style + j]["content"] for j, label in enumerate(rec.content_labels)}})
    print(f"reconstruct: {n_style} style + {len(rec.content_labels)} content rows, "
          f"{params.reconstruct_steps} steps, {rec.seconds_per_step:.3f} s/step, "
          f"peak memory {peak_rss_mb():.0f} MiB")


if __name__ == "__main__":
    run_stage("reconstruct", main)
