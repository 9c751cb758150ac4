"""The committed params.yaml, the one source of default values, with a test's few changes on top."""
from __future__ import annotations

import copy
import dataclasses
import os
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from apeart.collection.params import DataParams
from apeart.gan.params import GanParams
from apeart.nst.params import NstParams
from apeart.params import Params, parse_params
from apeart.texnet.params import TexnetParams
from apeart.vaegan.params import VaeganParams

RAW: dict = YAML(typ="safe", pure=True).load((Path(__file__).resolve().parents[1] / "params.yaml").read_text())
PARAMS = parse_params(RAW)


def raw(changes: dict) -> dict:
    """params.yaml as a mapping with `changes` ({section: {key: value}}, or a section replaced) applied."""
    merged = copy.deepcopy(RAW)
    for section, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(section), dict):
            merged[section].update(value)
        else:
            merged[section] = value
    return merged


def write(path: Path, changes: dict) -> None:
    """Write params.yaml with `changes` applied to `path` (a stage's working folder reads it)."""
    YAML(typ="safe", pure=True).dump(raw(changes), path)


def parse(changes: dict) -> Params:
    """Validate params.yaml with `changes` applied, as a stage would read it."""
    return parse_params(raw(changes))


def _section(name: str, **changes: Any) -> Any:
    return dataclasses.replace(getattr(PARAMS, name), **changes)


def data(**changes: Any) -> DataParams:
    return _section("data", **changes)


def gan(**changes: Any) -> GanParams:
    return _section("gan", **changes)


def vaegan(**changes: Any) -> VaeganParams:
    return _section("vaegan", **changes)


def nst(**changes: Any) -> NstParams:
    return _section("nst", **changes)


def texnet(**changes: Any) -> TexnetParams:
    return _section("texnet", **changes)


def child_env(**changes: str) -> dict[str, str]:
    """This process's environment for a child Python that imports `defaults`: tests/ first on PYTHONPATH, the
    caller's PYTHONPATH (a checkout's src/) kept after it."""
    path = os.pathsep.join(p for p in (str(Path(__file__).parent), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, **changes}


def torchrun(processes: int, logs: Path) -> list[str]:
    """Python's arguments that start torchrun with `processes` on this machine, its logs in `logs` (none for one
    process)."""
    return ["-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}", f"--log-dir={logs}"] \
        if processes > 1 else []
