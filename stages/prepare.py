"""Stage prepare: 64x64 RGB training set for the GAN, the NST content set at nst.size and the whole
collection at texnet.size for the texture network."""
from __future__ import annotations

from pathlib import Path

from apeart.core.catalog import read_manifest
from apeart.core.cli import run_stage
from apeart.core.config import load_params
from apeart.core.files import write_json
from apeart.core.metrics import write_metrics
from apeart.prepare import GAN_SIZE, prepare_images

RAW, OUT = Path("data/raw"), Path("data/prepared")


def main() -> None:
    params = load_params()
    rows = read_manifest(RAW / "manifest.csv")
    sources = [RAW / "images" / f"{row['token_id']}.png" for row in rows]
    skipped = prepare_images(sources, OUT / "gan", GAN_SIZE, params.prepare.workers)
    bad = {s["file"] for s in skipped}
    content = [src for src in sources if src.name not in bad][: params.nst.content_count]
    prepare_images(content, OUT / "content", params.nst.size, params.prepare.workers)
    good = [src for src in sources if src.name not in bad]
    prepare_images(good, OUT / "texnet", params.texnet.size, params.prepare.workers)
    write_json(OUT / "held_out.json", [src.stem for src in content])  # the texture network never trains on these
    for item in skipped:
        print(f"prepare: skipped {item['file']}: {item['reason']}")
    write_json(OUT / "skipped.json", skipped)
    write_metrics(Path("metrics/prepare.json"), "prepare", {
        "gan_images": len(sources) - len(skipped), "skipped_images": len(skipped), "content_images": len(content)})


if __name__ == "__main__":
    run_stage("prepare", main)
