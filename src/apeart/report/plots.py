"""Loss curves as PNG (matplotlib, headless)."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (backend must be chosen first)


def read_curve(tsv: Path) -> tuple[list[int], list[float]]:
    """A curve TSV (core.metrics.write_curves) as (steps, values)."""
    with open(tsv, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    name = tsv.stem
    return [int(r["step"]) for r in rows], [float(r[name]) for r in rows]


def loss_plot(curves: dict[str, Path], title: str, log_y: bool = False) -> bytes:
    """PNG bytes of the named curves on one axis (no metadata, reproducible)."""
    fig, ax = plt.subplots(figsize=(7, 3.5), dpi=100)
    for label, tsv in curves.items():
        steps, values = read_curve(tsv)
        ax.plot(steps, values, label=label, linewidth=1)
    ax.set(title=title, xlabel="step", ylabel="loss")
    if log_y:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()
