"""Per-step curves and final metrics through dvclive, in a folder that dvc.yaml declares."""
from __future__ import annotations

from pathlib import Path

from dvclive import Live


def log_history(folder: Path, history: list[dict[str, float]], names: list[str], summary: dict) -> None:
    """Write one TSV curve per name (x = history's `step`) and `summary` as metrics.json."""
    # dvclive must not touch dvc.yaml or create experiments: the stage's outputs are declared there.
    with Live(str(folder), save_dvc_exp=False, dvcyaml=False, report=None) as live:
        for row in history:
            live.step = int(row["step"])
            for name in names:
                live.log_metric(name, row[name])
        for key, value in summary.items():
            live.summary[key] = value
