"""Stage entry points: a known fault (bad params, manifest or image, a failed run) is one line on stderr and
a non-zero exit, never a traceback around the message, and never a URL's password."""
from __future__ import annotations

import sys
from typing import Callable

from apeart.core.catalog import ManifestError
from apeart.core.config import ParamsError
from apeart.core.credentials import AuthError, mask
from apeart.core.images import BadImageError
from apeart.core.resume import ResumeError

KNOWN = (ParamsError, AuthError, ManifestError, BadImageError, ResumeError,
         FileNotFoundError)  # the last: an input run by hand is missing


def run_stage(name: str, main: Callable[[], None], *errors: type[BaseException]) -> None:
    """Call `main`; KNOWN faults and `errors` exit with `<name>: <message>` (status 1), credentials masked."""
    try:
        main()
    except (*KNOWN, *errors) as exc:
        sys.exit(f"{name}: {mask(str(exc))}")
    except OSError as exc:  # a disk full, a read-only folder, a file too large: the path and the cause
        sys.exit(f"{name}: {mask(f'{exc.filename}: {exc.strerror}' if exc.filename and exc.strerror else str(exc))}")
