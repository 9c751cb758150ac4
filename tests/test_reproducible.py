"""Byte-identical reruns on the CPU: `dvc repro -f` of the tiny run, in another checkout folder and with torch
started on three threads (the session's run started on one: conftest.py's count for a test worker), gives the same md5
for every output in dvc.lock (models, images, HTML, metrics, curves), so git sees no change: every stage runs
core.runtime.THREADS threads whatever the machine, and none writes a timing or anything else that varies run to
run (timings are printed, not saved).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from repo_copy import ROOT, STAGES, clone_built, lock_outs, ran, run, tree_digest

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


def test_the_committed_lock_holds_what_the_machine_independent_stages_give_here(tmp_path: Path) -> None:
    """In a fresh clone of the checkout, DVC finds every stage's code and params as the committed locks record them
    (only outputs missing), and check_params and fetch at the committed params (no torch kernel: their bytes
    depend on no CPU) give the committed dvc.lock's outs here: a lock from another code or a broken run fails
    here instead of surprising a user. prepare's outs are fetch's images through the same Pillow calls; the other
    stages are machine-bound (docs/reproducibility.md)."""
    clone = tmp_path / "apeart"
    run(["git", "clone", "-q", str(ROOT), str(clone)], tmp_path)
    outs = [key.split(":", 1)[1] for lock in (ROOT, ROOT / "experiments") for key in lock_outs(lock)]
    status = json.loads(run(["dvc", "status", "--json"], clone, stdout_only=True))
    changes = [(stage, kind, path, state) for stage, entries in status.items() for entry in entries
               for kind, paths in entry.items()
               for path, state in (paths.items() if isinstance(paths, dict) else [(kind, paths)])]
    assert changes  # a fresh clone has no outputs
    for stage, kind, path, state in changes:  # only what a fresh clone lacks: outs, and deps that are other outs
        produced = any(path == out or path.startswith(f"{out}/") for out in outs)
        assert (kind, state) == ("changed outs", "not in cache") or (kind, state) == ("changed deps", "deleted") \
            and produced, (stage, kind, path, state)
    run(["dvc", "repro", "fetch"], clone, timeout=900)
    independent = ("check_params:", "fetch:")
    committed = {k: v for k, v in lock_outs(ROOT).items() if k.startswith(independent)}
    assert committed and {k: v for k, v in lock_outs(clone).items() if k.startswith(independent)} == committed
