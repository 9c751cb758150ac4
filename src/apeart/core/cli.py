"""Stage entry points: a known fault (bad params, manifest or image, a failed run) is one line on stderr and
a non-zero exit, never a traceback around the message, and never a URL's password."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable, NoReturn

from apeart.core.catalog import ManifestError
from apeart.core.config import ParamsError
from apeart.core.credentials import AuthError, mask
from apeart.core.files import write_bytes
from apeart.core.images import BadImageError
from apeart.core.resume import ResumeError

KNOWN = (ParamsError, AuthError, ManifestError, BadImageError, ResumeError,
         FileNotFoundError)  # the last: an input run by hand is missing
FAULTS = "APEART_FAULTS"  # set by apeart's torchrun launcher (core.distributed): where each rank leaves its line


def run_stage(name: str, main: Callable[[], None], *errors: type[BaseException]) -> None:
    """Call `main`; KNOWN faults and `errors` exit with `<name>: <message>` (status 1), credentials masked."""
    try:
        main()
    except (*KNOWN, *errors) as exc:
        fail(f"{name}: {mask(str(exc))}")
    except OSError as exc:  # a disk full, a read-only folder, a file too large: the path and the cause
        fail(f"{name}: {mask(f'{exc.filename}: {exc.strerror}' if exc.filename and exc.strerror else str(exc))}")


def fail(line: str) -> NoReturn:
    """Exit with status 1 and `line` on stderr; a rank of apeart's torchrun leaves `line` in $APEART_FAULTS instead,
    and the launcher prints each different line once (every rank often fails alike)."""
    folder = os.environ.get(FAULTS)
    if folder and "RANK" in os.environ:
        write_bytes(Path(folder) / f"rank{os.environ['RANK']}.txt", line.encode())
        sys.exit(1)
    sys.exit(line)
