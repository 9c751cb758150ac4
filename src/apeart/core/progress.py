"""Progress bars that stay readable in DVC logs and CI as well as in a terminal."""
from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm


def progress(iterable: Any = None, **kwargs: Any) -> tqdm:
    """tqdm redrawn twice a second on a terminal, every 30 s (one line each) when stderr is a log file."""
    interval = 0.5 if sys.stderr.isatty() else 30.0
    return tqdm(iterable, mininterval=interval, dynamic_ncols=True, **kwargs)
