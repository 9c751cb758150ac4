"""Shared by the end-to-end tests: a git+DVC copy of this repo with tiny params, and a `run` helper.

`tiny_repo(dst)` copies the tracked (and untracked, not ignored) files without any stage output,
shrinks params.yaml to `TINY` and commits; `repro(dst)` then runs the real `dvc repro` and commits
the lock. `clone_built(src, dst)` copies a built repo (git history, DVC cache, outputs) so several
test modules can share one tiny run instead of each paying for its own.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
# Small sizes, but enough steps that a changed param visibly moves what a stage draws (tests/
# test_readme_experiments.py compares the README's experiments with this run): 60 GAN steps (10 epochs of the
# 12 images in batches of 2), 15 L-BFGS steps, 20 reconstruction steps.
TINY = {
    "data": {"limit": 12},
    "prepare": {"workers": 1},
    "gan": {"epochs": 10, "batch_size": 2, "ngf": 8, "ndf": 8},
    "figures": {"gan_grid_size": 4, "vaegan_grid_size": 4, "vaegan_walk_rows": 1, "vaegan_walk_steps": 3},
    "sample": {"batches": 1, "batch_size": 2},
    "nst": {"content_count": 2, "size": 32, "steps": 15},
}
# Stages added to the pipeline later get tiny values here too, applied only where params.yaml has the key.
TINY_IF_PRESENT = {
    "nst": {"reconstruct_size": 32, "reconstruct_steps": 20, "reconstruct_content_layers": ["conv4_2"],
            "sweep_betas": [1e-6, 1e-4], "collection_images": 4},
    "texnet": {"size": 32, "levels": 5, "train_images": 4, "epochs": 1, "noise_scales": [0.0, 2.0],
               "workers": 1},  # a handful of images: in the stage's process (tests/test_texnet.py runs the pool)
    "vaegan": {"epochs": 1, "batch_size": 4, "latent": 8, "width": 0.0625},
}
STAGES = sorted(YAML(typ="safe").load(ROOT / "dvc.yaml")["stages"])  # the default pipeline
EXPERIMENTS = [f"experiments/dvc.yaml:{s}" for s in YAML(typ="safe").load(ROOT / "experiments/dvc.yaml")["stages"]]
TRACE_HOOK = ROOT / "tests" / "trace"  # sitecustomize.py: logs every file a Python process opens
OUTPUTS = ("models/", "reports/", "metrics/", ".cache/")  # data/ in git holds inputs only (paintings, manifests)
GIT_ID = ["-c", "user.name=t", "-c", "user.email=t@t"]
BETA_EXPERIMENT = ["dvc", "exp", "run", "-S", "nst.beta=1e-5"]  # the README's experiment, run once a session


def env(**extra: str | None) -> dict[str, str]:
    """This interpreter's bin first on PATH (so `dvc` is the venv's), this checkout's src on PYTHONPATH (not
    whatever the venv's editable install points at), no analytics, plus `extra` (a None value removes that variable)."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    pythonpath = os.pathsep.join(p for p in (extra.pop("PYTHONPATH", None), str(ROOT / "src")) if p)
    merged = {**os.environ, "PATH": path, "PYTHONPATH": pythonpath, "DVC_NO_ANALYTICS": "1", **extra}
    return {k: v for k, v in merged.items() if v is not None}


def attempt(cmd: list[str], cwd: Path, timeout: float = 600, **extra_env: str | None) -> tuple[int, str]:
    """Run `cmd` in `cwd`: (exit code, stdout + stderr)."""
    proc = subprocess.run(cmd, cwd=cwd, env=env(**extra_env), capture_output=True, text=True,
                          timeout=timeout, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def run(cmd: list[str], cwd: Path, stdout_only: bool = False, timeout: float = 600,
        **extra_env: str | None) -> str:
    """Run `cmd` in `cwd` and assert it succeeded; its stdout (+ stderr unless stdout_only) as text."""
    proc = subprocess.run(cmd, cwd=cwd, env=env(**extra_env), capture_output=True, text=True,
                          timeout=timeout, check=False)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout if stdout_only else proc.stdout + proc.stderr


def ran(output: str) -> set[str]:
    """The stages (every one in dvc.yaml) a `dvc repro`/`dvc exp run` output says it ran."""
    return {s for s in STAGES + EXPERIMENTS if f"Running stage '{s}'" in output}


def commit(repo: Path, message: str) -> None:
    run(["git", "add", "-A"], repo)
    run(["git", *GIT_ID, "commit", "-qm", message], repo)


def tiny_repo(dst: Path) -> Path:
    """Copy the repo's source (no stage outputs) into `dst`, set TINY params, `git init` and commit."""
    dst.mkdir(parents=True, exist_ok=True)
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.splitlines()
    for name in files:
        if (ROOT / name).is_file() and not name.startswith(OUTPUTS):
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dst / name)
    yaml = YAML()
    params = yaml.load(dst / "params.yaml")
    for section, values in TINY.items():
        params[section].update(values)
    for section, values in TINY_IF_PRESENT.items():
        params[section].update({k: v for k, v in values.items() if k in params.get(section, {})})
    yaml.dump(params, dst / "params.yaml")
    run(["git", "init", "-q", "-b", "main"], dst)
    commit(dst, "tiny")
    return dst


def write_params(repo: Path, values: dict[str, object]) -> None:
    """Set each `section.key` of `values` in `repo`'s params.yaml, keeping its comments and layout."""
    yaml = YAML()
    params = yaml.load(repo / "params.yaml")
    for key, value in values.items():
        section, name = key.split(".")
        params[section][name] = value
    yaml.dump(params, repo / "params.yaml")


def trace_file(repo: Path) -> Path:
    """Where `repro` logs the files each stage opened (beside the repo, so not in any output)."""
    return repo.parent / "trace.tsv"


def repro(repo: Path) -> str:
    """The real `dvc repro` of every stage of both pipelines, each file open traced to `trace_file(repo)`,
    then commit the locks and the git-tracked metrics."""
    trace = {"APEART_TRACE": str(trace_file(repo)), "PYTHONPATH": str(TRACE_HOOK)}
    output = run(["dvc", "repro"], repo, **trace)
    assert ran(output) == set(STAGES), output
    output += run(["dvc", "repro", "experiments/dvc.yaml"], repo, **trace)
    assert ran(output) == set(STAGES + EXPERIMENTS), output
    commit(repo, "tiny run")
    return output


def clone_built(src: Path, dst: Path) -> Path:
    """A full copy of a built repo (git, DVC cache, workspace), e.g. so a test may change it freely."""
    def skip(folder: str, names: list[str]) -> list[str]:  # DVC's state/lock db: per checkout
        return ["tmp"] if Path(folder).name == ".dvc" else []

    shutil.copytree(src, dst, symlinks=True, ignore=skip, dirs_exist_ok=True)
    return dst


def lock_outs(repo: Path) -> dict[str, str]:
    """{stage:path: md5} of every out in dvc.lock (directories by their .dir md5)."""
    lock = YAML(typ="safe").load(repo / "dvc.lock")
    return {f"{stage}:{out['path']}": out["md5"] for stage, entry in lock["stages"].items()
            for out in entry.get("outs", [])}


def tree_digest(folder: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """{relative path: md5} of every file under `folder` (to show a command left it unchanged)."""
    return {str(p.relative_to(folder)): hashlib.md5(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not str(p.relative_to(folder)).startswith(skip)}
