"""Stage check_params: params.yaml validated before any other stage runs. Every stage depends on its output,
so a bad `dvc exp run -S` value ends the run here, before DVC removes any other stage's outputs."""
from __future__ import annotations

from pathlib import Path

from apeart.core.cli import run_stage
from apeart.core.config import ParamsError
from apeart.params import load_params
from apeart.core.files import write_bytes

OUT = Path("data/params.ok")
RESTORE = ("`touch params.yaml && git checkout params.yaml` restores the committed file; the touch matters "
           "after a failed `dvc exp run`, which leaves git's index believing params.yaml unchanged")


def main() -> None:
    try:
        load_params()
    except ParamsError as error:
        raise ParamsError(f"{error} ({RESTORE})") from None
    write_bytes(OUT, b"params.yaml passed the checks of apeart.params\n")


if __name__ == "__main__":
    run_stage("check_params", main)
