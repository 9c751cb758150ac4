"""Child processes that end with the process that started them (Linux's PR_SET_PDEATHSIG): a SIGKILLed stage
(the OOM killer) leaves no torchrun or worker process running."""
from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

PR_SET_PDEATHSIG = 1  # linux/prctl.h
PARENT = "APEART_END_WITH"  # in a spawned worker's environment: the pid of the process it must not outlive


def end_with_parent(parent: int) -> Callable[[], None]:
    """A `preexec_fn` (or a child's first call): the kernel sends the child SIGTERM when `parent` dies (Linux's
    PR_SET_PDEATHSIG), so a SIGKILLed stage takes torchrun or its worker pool down instead of leaving them running."""

    def arm() -> None:
        if not sys.platform.startswith("linux"):
            return
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl
            os.kill(os.getpid(), signal.SIGTERM)

    return arm


@contextmanager
def spawned_children_end_with_me() -> Iterator[None]:
    """Processes spawned inside (multiprocessing's "spawn") arm their parent-death signal at their first
    `import apeart` (`follow_parent`), before they import torch and the stage script: seconds each, a minute for
    dozens on two cores, during which a pool initializer has not run yet."""
    os.environ[PARENT] = str(os.getpid())
    try:
        yield
    finally:
        del os.environ[PARENT]


def follow_parent() -> None:
    """Called by `import apeart`: in a process spawned inside `spawned_children_end_with_me`, end with that parent
    from now on; the variable goes, so this process's own children do not inherit it."""
    if parent := os.environ.pop(PARENT, None):
        end_with_parent(int(parent))()
