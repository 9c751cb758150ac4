"""`apeart-beta-grid`: a queued beta sweep as one figure, rows = content images, columns = beta.

    dvc exp run --queue -S 'nst.beta=1e-7,1e-6,1e-5,1e-4' && dvc queue start   # then: dvc queue status
    apeart-beta-grid                     # -> reports/sweep/beta_grid.png

Takes the finished experiments of the current commit (or those named) from `dvc.api.exp_show()`, each
one's nst.beta and its reports/nst/results/*.png through DVC's file system at the experiment's revision
(from the local cache), and draws content | beta... (ascending); when several share a beta the newest
wins. A console entry point, not a DVC stage: it reads experiments, which a stage cannot depend on.
"""
from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import torch
from PIL import Image

from apeart.core.datasets import to_tensor
from apeart.core.files import save_png
from apeart.studies.sweep import beta_grid

RESULTS = "reports/nst/results"
CONTENT = "data/prepared/content"


def finished_experiments(rows: list[dict], names: list[str]) -> list[dict]:
    """[{name, rev, beta}] of the finished experiments among `dvc.api.exp_show()` rows, in its order
    (newest first)."""
    found = []
    for row in rows:
        if row.get("typ") == "baseline" or row.get("State") not in (None, "Success"):
            continue  # a commit, or a queued, running or failed experiment
        name = row.get("Experiment") or row["rev"]
        if (names and name not in names and row["rev"] not in names) or row.get("nst.beta") is None:
            continue
        found.append({"name": name, "rev": row["rev"], "beta": float(row["nst.beta"])})
    return found


def newest_per_beta(experiments: list[dict]) -> dict[float, dict]:
    """The first (newest) experiment of each beta, by ascending beta."""
    chosen: dict[float, dict] = {}
    for exp in experiments:
        chosen.setdefault(exp["beta"], exp)
    return dict(sorted(chosen.items()))


def _read_images(fs, folder: str) -> dict[str, torch.Tensor]:
    files = sorted(p for p in fs.ls(folder, detail=False) if p.endswith(".png"))
    images = {}
    for path in files:
        with fs.open(path, "rb") as f:
            images[Path(path).stem] = to_tensor(Image.open(io.BytesIO(f.read()))).float() / 255
    return images


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("experiments", nargs="*", help="experiment names or revisions (default: all finished)")
    parser.add_argument("--out", default="reports/sweep/beta_grid.png")
    parser.add_argument("--commits", type=int, default=1, help="experiments of this many commits back from HEAD")
    args = parser.parse_args(argv)

    from dvc.api import DVCFileSystem, exp_show

    chosen = newest_per_beta(finished_experiments(exp_show(num=args.commits), args.experiments))
    if not chosen:
        sys.exit("apeart-beta-grid: no finished experiments; run `dvc exp run --queue -S 'nst.beta=1e-7,1e-6,1e-5,1e-4'` "
                 "and `dvc queue start`, then wait for `dvc queue status` to show them done")
    columns, names, content = {}, None, None
    for beta, exp in chosen.items():
        fs = DVCFileSystem(".", rev=exp["rev"])
        results = _read_images(fs, RESULTS)
        if content is None:
            content = _read_images(fs, CONTENT)
            names = sorted(set(content) & set(results), key=lambda n: (len(n), n))
        missing = [n for n in names if n not in results]
        if missing:
            sys.exit(f"apeart-beta-grid: experiment {exp['name']} has no result for {missing} (other content set?)")
        columns[beta] = [results[n] for n in names]
        print(f"apeart-beta-grid: beta={beta:g} from {exp['name']} ({exp['rev'][:7]})")
    tile = next(iter(columns.values()))[0].shape[-1]
    save_png(beta_grid(names, [content[n] for n in names], columns, tile), Path(args.out))
    print(f"apeart-beta-grid: {len(names)} content images x {len(columns)} betas -> {args.out}")


if __name__ == "__main__":
    main()
