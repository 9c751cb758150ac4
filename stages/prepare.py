"""Stage prepare: 64x64 RGB training set for the GAN, the NST content set at nst.size and the whole
collection at texnet.size for the texture network."""
from __future__ import annotations

from pathlib import Path

from apeart.collection.manifest import read_manifest
from apeart.core.cli import run_stage
from apeart.core.config import load_sections
from apeart.nst.params import NstParams
from apeart.prepare import PrepareParams
from apeart.texnet.params import TexnetParams
from apeart.core.files import write_json
from apeart.core.metrics import write_metrics
from apeart.prepare import GAN_SIZE, prepare_images

RAW, OUT = Path("data/raw"), Path("data/prepared")


def main() -> None:
    prepare, nst, texnet = load_sections(PrepareParams, NstParams, TexnetParams)
    rows = read_manifest(RAW / "manifest.csv")
    sources = [RAW / "images" / f"{row['token_id']}.png" for row in rows]
    skipped = prepare_images(sources, {OUT / "gan": GAN_SIZE, OUT / "texnet": texnet.size}, prepare.workers)
    bad = {s["file"] for s in skipped}
    content = [src for src in sources if src.name not in bad][: nst.content_count]
    prepare_images(content, {OUT / "content": nst.size}, prepare.workers)
    write_json(OUT / "held_out.json", [src.stem for src in content])  # the texture network never trains on these
    for item in skipped:
        print(f"prepare: skipped {item['file']}: {item['reason']}")
    write_json(OUT / "skipped.json", skipped)
    write_metrics(Path("metrics/prepare.json"), "prepare", {
        "gan_images": len(sources) - len(skipped), "skipped_images": len(skipped), "content_images": len(content)})


if __name__ == "__main__":
    run_stage("prepare", main)
