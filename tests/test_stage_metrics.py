"""Stage metrics and curves: namespaced keys, 5 significant digits, smoothed curves; a stage run from the wrong
folder says where to run it."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from apeart.core.metrics import MAX_POINTS, last_epoch_mean, write_curves, write_metrics

ROOT = Path(__file__).resolve().parents[1]


def test_metrics_are_nested_under_their_namespace_and_rounded(tmp_path: Path) -> None:
    write_metrics(tmp_path / "m.json", "gan.train", {"d_loss": 0.123456789, "big": 375811785883648.0, "n": 3,
                                                      "floor": {"fd": 1.0000049}})
    assert json.loads((tmp_path / "m.json").read_text()) == {
        "gan": {"train": {"d_loss": 0.12346, "big": 375810000000000.0, "n": 3, "floor": {"fd": 1.0}}}}


def test_curves_are_window_means_with_at_most_max_points(tmp_path: Path) -> None:
    history = [{"step": s, "epoch": 1 + (s - 1) // 1000, "loss": float(s % 2)} for s in range(1, 2001)]
    write_curves(tmp_path, history, ["loss"])
    with open(tmp_path / "loss.tsv", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert len(rows) <= MAX_POINTS and rows[-1]["step"] == "2000"
    assert all(float(r["loss"]) == 0.5 for r in rows)  # 20 steps a window: odd and even alternate
    short = [{"step": s, "epoch": 1, "loss": float(s)} for s in range(5)]
    write_curves(tmp_path, short, ["loss"])
    assert (tmp_path / "loss.tsv").read_text() == "step\tloss\n0\t0.0\n1\t1.0\n2\t2.0\n3\t3.0\n4\t4.0\n"


def test_last_epoch_mean() -> None:
    history = [{"epoch": 1, "a": 10.0}, {"epoch": 2, "a": 1.0}, {"epoch": 2, "a": 3.0}]
    assert last_epoch_mean(history, ["a"]) == {"a": 2.0}


@pytest.mark.slow  # a torch stage's process
def test_a_stage_run_from_another_folder_says_to_run_from_the_root(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "apeart", str(ROOT / "stages" / "stylize.py")], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "run stages from the repository root" in out.stderr.strip().splitlines()[-1], out.stderr
