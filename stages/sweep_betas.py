"""Stage sweep_betas: the stylize stage once per value of nst.sweep_betas, in one run.

-> experiments/sweep_betas/beta_grid.png (rows = content images, columns = beta), the results per beta in
experiments/sweep_betas/beta_<beta>/ and final losses in experiments/sweep_betas/sweep.json. With
nst.sweep_betas empty (the default) it only writes sweep.json. For the same sweep as DVC experiments
(`dvc exp run --queue -S nst.beta=...`), see `apeart-beta-grid` (apeart/studies/grid.py).
"""
from __future__ import annotations

from pathlib import Path

from apeart.core.cli import run_stage
from apeart.core.config import load_section
from apeart.nst.params import NstParams
from apeart.core.files import save_png, write_json
from apeart.core.grids import to_pil
from apeart.core.runtime import deterministic, resolve_device
from apeart.nst.inputs import load_inputs, style_tile
from apeart.studies.sweep import beta_grid, format_beta, sweep_betas

OUT = Path("experiments/sweep_betas")


def main() -> None:
    params = load_section(NstParams)
    betas = list(params.sweep_betas)
    summary: dict = {"betas": betas, "losses": {}}
    if betas:
        deterministic(params.seed)
        device = resolve_device(params.device)
        names, content, styles = load_inputs(params)

        def save(beta, result) -> None:
            for name, image in zip(names, result.images):
                save_png(to_pil(image), OUT / f"beta_{format_beta(beta)}" / f"{name}.png")
            summary["losses"][format_beta(beta)] = {  # batch means of the saved results; no timings (a cached out)
                "content_loss": sum(result.content) / len(names), "style_loss": sum(result.style) / len(names),
                "mean_abs_change": float((result.images - content).abs().mean())}

        results = sweep_betas(content, styles, params, device, betas, save)
        columns = {b: list(r.images) for b, r in results.items()}
        save_png(beta_grid(names, list(content), columns, params.size, style_tile(styles, params.size)),
                 OUT / "beta_grid.png")
        print(f"sweep_betas: {len(betas)} betas x {len(names)} images -> {OUT / 'beta_grid.png'}")
    else:
        print("sweep_betas: nst.sweep_betas is empty; nothing to sweep")
    write_json(OUT / "sweep.json", summary)


if __name__ == "__main__":
    run_stage("sweep_betas", main)
