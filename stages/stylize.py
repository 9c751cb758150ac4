"""Stage stylize: batched Gatys NST of the content set towards a GAN style batch or paintings."""
from __future__ import annotations

from pathlib import Path

from apeart.config import load_params
from apeart.files import save_png, write_json
from apeart.live import log_history
from apeart.nst.inputs import load_content, load_styles
from apeart.nst.transfer import transfer
from apeart.report.grids import grid, to_pil
from apeart.runtime import deterministic, peak_rss_mb, resolve_device

OUT = Path("reports/nst")


def main() -> None:
    params = load_params().nst
    deterministic(params.seed)
    device = resolve_device(params.device)
    names, content = load_content(Path("data/prepared/content"))
    styles = load_styles(params, Path("data/styles/gan"))

    def on_snapshot(step: int, images) -> None:
        save_png(to_pil(grid(images, nrow=len(images))), OUT / "snapshots" / f"step_{step:05d}.png")

    result = transfer(content, styles, params, device, on_snapshot)
    for name, image in zip(names, result.images):
        save_png(to_pil(image), OUT / "results" / f"{name}.png")
    summary = {
        "content_loss": sum(result.content) / len(names),
        "style_loss": sum(result.style) / len(names),
        "tv_loss": sum(result.tv) / len(names),
        "per_image": {n: {"content": c, "style": s} for n, c, s in zip(names, result.content, result.style)},
    }
    log_history(Path("metrics/stylize"), result.history, ["total", "content", "style"], summary)
    write_json(Path("metrics/perf/stylize.json"), {
        "seconds_per_step": round(result.seconds_per_step, 4), "images": len(names),
        "peak_rss_mb": round(peak_rss_mb(), 1), "device": str(device)})
    print(f"stylize: {len(names)} images, {params.steps} steps, {result.seconds_per_step:.3f}s/step")


if __name__ == "__main__":
    main()
