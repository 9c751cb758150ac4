"""Byte-identical reruns on the CPU: `dvc repro -f` of the tiny run, in another checkout folder and with torch
started on three threads (the session's run started on one: conftest.py's count for a test worker), gives the same md5
for every output in dvc.lock (models, images, HTML, metrics, curves), so git sees no change: every stage runs
core.runtime.THREADS threads whatever the machine, and none writes a timing or anything else that varies run to
run (timings are printed, not saved).
"""
from __future__ import annotations

from pathlib import Path

import pytest
from repo_copy import STAGES, clone_built, lock_outs, ran, run, tree_digest

pytestmark = pytest.mark.slow  # `pytest -m 'not slow'` is the fast inner loop

@pytest.fixture(scope="module")
def rerun(built_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny run forced again from scratch, in a copy at another path, torch's default threads 3."""
    repo = clone_built(built_repo, tmp_path_factory.mktemp("rerun") / "elsewhere")
    output = run(["dvc", "repro", "-f"], repo, OMP_NUM_THREADS="3", MKL_NUM_THREADS="3")
    assert ran(output) >= set(STAGES), output
    return repo


def test_forced_rerun_gives_identical_outputs(built_repo: Path, rerun: Path) -> None:
    first, second = lock_outs(built_repo), lock_outs(rerun)
    assert first.keys() == second.keys()
    assert any(k.endswith("models/dcgan") for k in first) and any(k.endswith("reports/index.html") for k in first)
    differ = sorted(k for k in first if first[k] != second[k])
    files = []
    for key in differ:
        path = key.split(":", 1)[1]
        if (built_repo / path).is_dir():
            a, b = tree_digest(built_repo / path), tree_digest(rerun / path)
            files += [f"{path}/{f}" for f in sorted(a.keys() | b.keys()) if a.get(f) != b.get(f)]
        else:
            files.append(path)
    assert differ == [], f"outputs that changed between identical runs: {differ}; files: {files}"


def test_nothing_changes_in_git(rerun: Path) -> None:
    assert run(["git", "status", "--porcelain"], rerun, stdout_only=True) == ""
    assert "up to date" in run(["dvc", "status"], rerun).lower()


def test_outputs_hold_no_absolute_path(built_repo: Path) -> None:
    """Text outputs must not embed where the run happened (that would break identical reruns elsewhere)."""
    needle = str(built_repo.parent)
    for folder in ("reports", "metrics", "data/raw", "models"):
        for path in (built_repo / folder).rglob("*"):
            if path.is_file():
                assert needle.encode() not in path.read_bytes(), f"{path} contains {needle}"
