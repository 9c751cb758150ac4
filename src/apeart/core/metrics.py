"""Stage metrics and training curves, written to the paths dvc.yaml declares.

Written here rather than through dvclive: its summary always adds a `step` counter (a count, not a metric) and
its curves keep every step (2,048 points for train_gan); ours are one CSV writer and one JSON.
"""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from apeart.core.files import write_bytes, write_json

MAX_POINTS = 100  # rows per curve: longer runs are averaged over consecutive windows of steps
DIGITS = 5  # significant digits of a metric: `dvc metrics diff` then lists no change below them (float noise)


def _rounded(value: object) -> object:
    """Floats to DIGITS significant digits, recursively; other values as they are."""
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, float) and math.isfinite(value) and value:
        return round(value, DIGITS - 1 - math.floor(math.log10(abs(value))))
    return value


def write_metrics(path: Path, namespace: str, values: dict) -> None:
    """`values` (floats to DIGITS significant digits) nested under `namespace` ("gan.train" -> {"gan": {"train":
    values}}), so each key shown by `dvc metrics diff` and `dvc exp show` names what it measures, in one file only."""
    values = _rounded(values)
    for part in reversed(namespace.split(".")):
        values = {part: values}
    write_json(path, values)


def smooth(history: list[dict[str, float]], names: list[str], points: int = MAX_POINTS) -> list[dict[str, float]]:
    """At most `points` rows: the mean of each name over consecutive windows of rows, at the window's last step."""
    size = max(1, math.ceil(len(history) / points))
    windows = [history[i : i + size] for i in range(0, len(history), size)]
    return [{"step": w[-1]["step"], **{n: sum(r[n] for r in w) / len(w) for n in names}} for w in windows]


def write_curves(folder: Path, history: list[dict[str, float]], names: list[str]) -> None:
    """One TSV per name (`step`, name) in `folder`, smoothed to at most MAX_POINTS rows."""
    rows = smooth(history, names)
    for name in names:
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter="\t", lineterminator="\n")
        writer.writerow(["step", name])
        writer.writerows([int(row["step"]), repr(float(row[name]))] for row in rows)
        write_bytes(folder / f"{name}.tsv", buf.getvalue().encode())


def last_epoch_mean(history: list[dict[str, float]], names: list[str]) -> dict[str, float]:
    """Each name's mean over the last epoch's steps (one step's loss is one batch's noise)."""
    last = [row for row in history if row["epoch"] == history[-1]["epoch"]]
    return {n: sum(row[n] for row in last) / len(last) for n in names}
