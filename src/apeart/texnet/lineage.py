"""data/stylized/lineage.csv: each stylised image traced to its source image, style and model."""
from __future__ import annotations

import hashlib
from pathlib import Path

from apeart.core.csvfiles import write_csv
from apeart.core.files import write_bytes
from apeart.core.resume import ResumeError, read_finished
from apeart.nst.inputs import image_files
from apeart.texnet.data import GAN_STYLES

COLUMNS = ("token_id", "source_cid", "style", "model_md5", "output_sha256")


def file_md5(path: Path) -> str:
    """The md5 DVC records for a file."""
    return hashlib.md5(path.read_bytes()).hexdigest()


def style_record(source: str, batch: int, style_dir: str, sample_model: str) -> str:
    """The style images (`source` gan: GAN batch `batch` and its generator; images: the paintings of
    `style_dir`) and one sha256 over their files, so two different style sets never share a record."""
    if source == "gan":
        folder, label = GAN_STYLES / f"batch_{batch:03d}", f"gan {sample_model} batch_{batch:03d}"
    else:
        folder, label = Path(style_dir), f"paintings {style_dir}"
    digest = hashlib.sha256()
    for path in image_files(folder):
        digest.update(path.name.encode() + hashlib.sha256(path.read_bytes()).digest())
    return f"{label} sha256={digest.hexdigest()}"


def lineage_row(token: str, cid: str, style: str, model_md5: str, png: bytes) -> dict[str, str]:
    return {"token_id": token, "source_cid": cid, "style": style, "model_md5": model_md5,
            "output_sha256": hashlib.sha256(png).hexdigest()}


def publish(work: Path, out: Path, names: list[str], cids: dict[str, str], style: str, model_md5: str) -> None:
    """Copy each finished `work/<name>.png` to `out/` and write `out/lineage.csv`, a row per file; ResumeError
    if one is not recorded as finished (core.resume)."""
    rows = []
    for name in names:
        png = read_finished(work, f"{name}.png")
        if png is None:
            raise ResumeError(f"{work / name}.png: not recorded as this run's output (changed since?); run again")
        write_bytes(out / f"{name}.png", png)
        rows.append(lineage_row(name, cids[name], style, model_md5, png))
    write_csv(out / "lineage.csv", COLUMNS, rows)
