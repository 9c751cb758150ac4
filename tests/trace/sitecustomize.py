"""Loaded by every Python process started with this folder on PYTHONPATH: when APEART_TRACE is set, it
appends one line per file opened or renamed ("<argv[0]>\t<r|w>\t<absolute path>") to that file, so a
test can check each DVC stage's reads against its deps and its writes against its outs."""
import os
import sys

_TRACE = os.environ.get("APEART_TRACE")
if _TRACE:
    _FD = os.open(_TRACE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    _WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

    def _record(kind: str, path: object) -> None:
        if isinstance(path, (str, bytes, os.PathLike)):
            name = os.fsdecode(path)
            os.write(_FD, f"{sys.argv[0] if sys.argv else ''}\t{kind}\t{os.path.abspath(name)}\n".encode())

    def _hook(event: str, args: tuple) -> None:
        if event == "open":
            path, mode, flags = args
            writes = any(c in mode for c in "wax+") if isinstance(mode, str) else bool((flags or 0) & _WRITE_FLAGS)
            _record("w" if writes else "r", path)
        elif event == "os.rename" or event == "os.replace":
            _record("w", args[1])

    sys.addaudithook(_hook)
