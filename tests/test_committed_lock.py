"""The committed locks against this checkout and this machine: in a fresh clone, DVC finds every stage's code and
params as dvc.lock and experiments/dvc.lock record them, and the stages whose bytes depend on no CPU give the
committed outs here (docs/reproducibility.md)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from repo_copy import ROOT, lock_outs, run

pytestmark = pytest.mark.slow  # `pytest -m 'not slow'` is the fast inner loop


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
