"""data/stylized/lineage.csv: each stylised image traced to its source image, style and model."""
from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

from apeart.core.config import NstParams, TexnetParams
from apeart.core.files import write_bytes
from apeart.nst.inputs import image_files

COLUMNS = ("token_id", "source_cid", "style", "model_md5", "output_sha256")


def file_md5(path: Path) -> str:
    """The md5 DVC records for a file."""
    return hashlib.md5(path.read_bytes()).hexdigest()


def style_record(texnet: TexnetParams, nst: NstParams, sample_seed: int) -> str:
    """The style a network was trained on: the GAN batch and its sampling seed, or each painting's sha256."""
    if texnet.style_source == "gan":
        return f"gan batch_{texnet.style_batch:03d} sample.seed={sample_seed}"
    return ";".join(f"{p.name} sha256={hashlib.sha256(p.read_bytes()).hexdigest()}"
                    for p in image_files(Path(nst.style_dir)))


def lineage_row(token: str, cid: str, style: str, model_md5: str, png: bytes) -> dict[str, str]:
    return {"token_id": token, "source_cid": cid, "style": style, "model_md5": model_md5,
            "output_sha256": hashlib.sha256(png).hexdigest()}


def write_lineage(path: Path, rows: list[dict[str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_bytes(path, buffer.getvalue().encode())
