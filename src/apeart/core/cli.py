"""Stage entry points: a known fault (any ApeartError: bad params, manifest or image, a failed run) is one line
on stderr and a non-zero exit, never a traceback around the message, and never a URL's password."""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Callable, NoReturn

from apeart.core.errors import ApeartError
from apeart.core.files import write_bytes

_USERINFO = re.compile(r"(?<=://)([^\s/@:]*)(:[^\s/]*)?@")
FAULTS = "APEART_FAULTS"  # set by apeart's torchrun launcher (core.distributed): where each rank leaves its line


def mask(text: str) -> str:
    """`text` with the credentials of every URL in it masked: `http://alice:***@host/` (a bare token: `***@`)."""
    return _USERINFO.sub(lambda m: f"{m[1]}:***@" if m[2] else "***@", text)


def run_stage(name: str, main: Callable[[], None]) -> None:
    """Call `main`; an ApeartError or a missing input exits with `<name>: <message>` (status 1), credentials
    masked."""
    try:
        main()
    except (ApeartError, FileNotFoundError) as exc:  # FileNotFoundError: an input of a stage run by hand
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
