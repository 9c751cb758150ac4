"""Stage entry points: a known fault (bad params, manifest or image, a failed run) is one line on stderr and
a non-zero exit, never a traceback around the message."""
from __future__ import annotations

import sys
from typing import Callable

from apeart.core.catalog import ManifestError
from apeart.core.config import ParamsError
from apeart.core.images import BadImageError
from apeart.core.resume import ResumeError

KNOWN = (ParamsError, ManifestError, BadImageError, ResumeError, FileNotFoundError)  # the last: an input run by hand is missing


def run_stage(name: str, main: Callable[[], None], *errors: type[BaseException]) -> None:
    """Call `main`; KNOWN faults and `errors` exit with `<name>: <message>` (status 1)."""
    try:
        main()
    except (*KNOWN, *errors) as exc:
        sys.exit(f"{name}: {exc}")
