"""Stage ablations (experiments pipeline; seed 001): Gatys with one change at a time from the nst params
(style layers +3 / -2, the other optimisers, the other pooling, the other backbones where cached), on the
content set and style -> experiments/ablations/ablations.png (rows = variants) and ablations.json (losses)."""
from __future__ import annotations

from pathlib import Path

from apeart.core.cli import run_stage
from apeart.core.config import load_section
from apeart.nst.params import NstParams
from apeart.core.files import save_png, write_json
from apeart.core.grids import tile_grid
from apeart.core.runtime import deterministic, resolve_device
from apeart.nst.inputs import load_inputs, style_tile
from apeart.nst.transfer import transfer
from apeart.studies.ablations import variants
from apeart.vgg.backbones import BackboneError

OUT = Path("experiments/ablations")


def main() -> None:
    params = load_section(NstParams)
    device = resolve_device(params.device)
    names, content, styles = load_inputs(params)
    rows, labels, table = [[*content, style_tile(styles, params.size)]], ["content | style"], {}
    for label, cell in variants(params):
        deterministic(params.seed)
        try:
            result = transfer(content, styles, cell, device)
        except BackboneError as error:  # torchvision weights not in the local cache: say so, never download
            table[label] = {"skipped": str(error).split(";")[0]}
            continue
        table[label] = {"content_loss": sum(result.content) / len(names), "style_loss": sum(result.style) / len(names),
                        "mean_abs_change": float((result.images - content).abs().mean())}
        rows.append([*result.images, style_tile(styles, params.size)])
        labels.append(label)
    save_png(tile_grid(rows, params.size, names + ["style"], labels), OUT / "ablations.png")
    write_json(OUT / "ablations.json", table)
    print(f"ablations: {len(labels) - 1} variants run, {len(table) - len(labels) + 1} skipped -> {OUT}")


if __name__ == "__main__":
    run_stage("ablations", main)
