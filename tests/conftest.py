"""Fixtures shared by the end-to-end tests (helpers live in repo_copy.py).

Under pytest-xdist (the suite runs one worker per core: pyproject.toml) the session's tiny run is built once
for all workers: the first worker to ask builds it into the run's shared temporary folder under a file lock; the
others wait and read the same folder.
"""
from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from pathlib import Path

import apeart  # noqa: F401  (first: the OpenMP spin count before torch loads)

# One xdist worker per core (pyproject.toml): torch in a worker, and in any child process that sets no thread count
# of its own, runs one thread, so two workers never run four on two cores. A stage that computes with torch sets
# its own (core.runtime.THREADS; torchrun's ranks theirs), so no stage output changes.
if "PYTEST_XDIST_WORKER" in os.environ:
    os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest
from filelock import FileLock
from repo_copy import BETA_EXPERIMENT, clone_built, repro, run, tiny_repo


def shared(factory: pytest.TempPathFactory, name: str, build: Callable[[Path], str]) -> tuple[Path, str]:
    """`build(folder)` run once per test run (once across xdist workers): the folder and what `build` returned.
    A failed build fails the other workers' tests with its traceback instead of being tried again."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        folder = factory.mktemp(name)
        return folder, build(folder)
    root = factory.getbasetemp().parent  # the run's folder, shared by its workers
    folder, done, failed = root / name, root / f"{name}.done", root / f"{name}.failed"
    with FileLock(root / f"{name}.lock"):
        if failed.is_file():
            pytest.fail(f"building {name} failed on another worker:\n{failed.read_text()}", pytrace=False)
        if not done.is_file():
            folder.mkdir()
            try:
                output = build(folder)
            except BaseException:
                failed.write_text(traceback.format_exc())
                raise
            done.write_text(output)  # under the lock: no worker reads it half written
    return folder, done.read_text()


@pytest.fixture(scope="session")
def built_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny-params copy of the repo after a full `dvc repro` (committed), shared by the session.

    Read-only for tests, and no DVC command runs in it (DVC locks the repo; another worker may be in it): a
    test that changes files, runs DVC commands or needs its own remote works on `repo_copy.clone_built(built_repo, ...)`.
    """
    folder, _ = shared(tmp_path_factory, "built", lambda f: repro(tiny_repo(f / "apeart")))
    return folder / "apeart"


@pytest.fixture(scope="session")
def beta_experiment(built_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A copy of `built_repo` after the README's `dvc exp run -S nst.beta=1e-5` (left in its workspace, as DVC
    leaves it), and the command's output. Read-only too: a test that changes it or runs DVC works on a `clone_built` of it."""
    folder, output = shared(tmp_path_factory, "beta", lambda f: run(BETA_EXPERIMENT, clone_built(built_repo, f / "apeart")))
    return folder / "apeart", output


# The longest files first (their tests run dvc, torchrun or training), so a run ends on short files on both
# workers; the first needs the session's tiny run, so one worker starts building it at once while the other
# runs the next three, which do not, instead of waiting for it.
LONGEST = ("test_readme_experiments.py", "test_distributed_training.py", "test_gan_quality.py",
           "test_committed_lock.py", "test_reproducible.py", "test_remote.py", "test_pipeline.py", "test_texnet.py",
           "test_stage_cli.py", "test_gan.py", "test_dvc_status.py", "test_nst_collection.py", "test_card_workflow.py",
           "test_nst_transfer.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A `processes` test is `slow` too (the unit tier, `-m "not slow"`, starts none); files in the order xdist
    hands them out (`--no-loadscope-reorder`): LONGEST, then the others as collected."""
    for item in items:
        if item.get_closest_marker("processes"):
            item.add_marker(pytest.mark.slow)
    rank = {name: n for n, name in enumerate(LONGEST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(LONGEST)))  # stable: a file's tests keep their order
