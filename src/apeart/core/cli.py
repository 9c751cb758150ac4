"""Stage entry points: a known fault (any ApeartError: bad params, manifest or image, a failed run) is one line
on stderr and a non-zero exit, never a traceback around the message, and never a URL's password."""
from __future__ import annotations

import re
import sys
from typing import Callable

from apeart.core.errors import ApeartError

_USERINFO = re.compile(r"(?<=://)([^\s/@:]*)(:[^\s/]*)?@")


def mask(text: str) -> str:
    """`text` with the credentials of every URL in it masked: `http://alice:***@host/` (a bare token: `***@`)."""
    return _USERINFO.sub(lambda m: f"{m[1]}:***@" if m[2] else "***@", text)


def run_stage(name: str, main: Callable[[], None]) -> None:
    """Call `main`; an ApeartError or a missing input exits with `<name>: <message>` (status 1), credentials
    masked."""
    try:
        main()
    except (ApeartError, FileNotFoundError) as exc:  # FileNotFoundError: an input of a stage run by hand
        sys.exit(f"{name}: {mask(str(exc))}")
    except OSError as exc:  # a disk full, a read-only folder, a file too large: the path and the cause
        sys.exit(f"{name}: {mask(f'{exc.filename}: {exc.strerror}' if exc.filename and exc.strerror else str(exc))}")
