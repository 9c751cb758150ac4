"""Render a queued beta sweep: rows = content images, columns = beta, from finished DVC experiments.

    dvc exp run --queue -S 'nst.beta=1e1,1e2,1e3,1e4' && dvc queue start   # then wait: dvc queue status
    python -m apeart stages/sweep_grid.py    # -> reports/sweep/beta_grid.png (the launcher: OMP_WAIT_POLICY before torch)

Reads `dvc exp show --json` for the experiments of the current commit (or those named), takes each one's
nst.beta and its reports/nst/results/*.png through DVC's file system at the experiment's revision (from
the local cache), and draws content | beta... (ascending). When several experiments share a beta the
newest wins. Not a DVC stage: it reads experiments, which a stage cannot depend on.
"""
from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path

import torch
from PIL import Image
from torchvision.transforms.functional import pil_to_tensor

from apeart.core.files import save_png
from apeart.studies.sweep import beta_grid

RESULTS = "reports/nst/results"
CONTENT = "data/prepared/content"


def finished_experiments(show: list[dict], names: list[str]) -> list[dict]:
    """[{name, rev, beta, timestamp}] of the successful experiments in `dvc exp show --json` output."""
    found = []
    for baseline in show:
        if baseline.get("rev") == "workspace":
            continue
        for exp in baseline.get("experiments") or []:
            executor = exp.get("executor") or {}
            if executor.get("state") not in (None, "success"):
                continue  # queued, running or failed
            for rev in exp.get("revs") or []:
                data = rev.get("data") or {}
                if rev.get("error") or not data.get("params"):
                    continue
                if names and rev.get("name") not in names and rev["rev"] not in names:
                    continue
                beta = ((data["params"].get("params.yaml") or {}).get("data") or {}).get("nst", {}).get("beta")
                if beta is None:
                    continue
                found.append({"name": rev.get("name") or rev["rev"][:7], "rev": rev["rev"],
                              "beta": float(beta), "timestamp": data.get("timestamp") or ""})
    return found


def newest_per_beta(experiments: list[dict]) -> dict[float, dict]:
    chosen: dict[float, dict] = {}
    for exp in sorted(experiments, key=lambda e: e["timestamp"]):
        chosen[exp["beta"]] = exp
    return dict(sorted(chosen.items()))


def _read_images(fs, folder: str) -> dict[str, torch.Tensor]:
    files = sorted(p for p in fs.ls(folder, detail=False) if p.endswith(".png"))
    images = {}
    for path in files:
        with fs.open(path, "rb") as f:
            images[Path(path).stem] = pil_to_tensor(Image.open(io.BytesIO(f.read())).convert("RGB")).float() / 255
    return images


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("experiments", nargs="*", help="experiment names or revisions (default: all finished)")
    parser.add_argument("--out", default="reports/sweep/beta_grid.png")
    parser.add_argument("--all-commits", action="store_true", help="experiments of every commit (`dvc exp show -A`)")
    args = parser.parse_args(argv)

    from dvc.api import DVCFileSystem

    cmd = ["dvc", "exp", "show", "--json"] + (["-A"] if args.all_commits else [])
    show = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
    chosen = newest_per_beta(finished_experiments(show, args.experiments))
    if not chosen:
        sys.exit("sweep_grid: no finished experiments; run `dvc exp run --queue -S 'nst.beta=1e1,1e2,1e3,1e4'` "
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
            sys.exit(f"sweep_grid: experiment {exp['name']} has no result for {missing} (other content set?)")
        columns[beta] = [results[n] for n in names]
        print(f"sweep_grid: beta={beta:g} from {exp['name']} ({exp['rev'][:7]})")
    tile = next(iter(columns.values()))[0].shape[-1]
    save_png(beta_grid(names, [content[n] for n in names], columns, tile), Path(args.out))
    print(f"sweep_grid: {len(names)} content images x {len(columns)} betas -> {args.out}")


if __name__ == "__main__":
    main()
