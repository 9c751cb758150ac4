"""Fixtures shared by the end-to-end tests (helpers live in repo_copy.py)."""
from __future__ import annotations

from pathlib import Path

import apeart  # noqa: F401  (first: the OpenMP spin count before torch loads)

import pytest
from repo_copy import BETA_EXPERIMENT, clone_built, repro, run, tiny_repo


@pytest.fixture(scope="session")
def built_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny-params copy of the repo after a full `dvc repro` (committed), shared by the session.

    Read-only for tests: a module that changes files, runs DVC commands that write, or needs its
    own remote works on `repo_copy.clone_built(built_repo, ...)`.
    """
    repo = tiny_repo(tmp_path_factory.mktemp("built") / "apeart")
    repro(repo)
    return repo


@pytest.fixture(scope="session")
def beta_experiment(built_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A copy of `built_repo` after the README's `dvc exp run -S nst.beta=1e-5` (left in its workspace, as DVC
    leaves it), and the command's output. Read-only too: a test that changes it works on a `clone_built` of it."""
    repo = clone_built(built_repo, tmp_path_factory.mktemp("beta") / "apeart")
    return repo, run(BETA_EXPERIMENT, repo)
