"""Typed params machinery: a params.yaml section -> a frozen dataclass, validated before any work.

Each domain declares its own section's dataclass (its `SECTION` name, field types and ranges); the values,
defaults included, live only in params.yaml. A stage loads just the sections it reads (`load_sections`), so a
domain's schema is a dep of its own stages only.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from apeart.core.errors import ApeartError

T = TypeVar("T")


class ParamsError(ApeartError, ValueError):
    """A parameter is unknown, missing, of the wrong type or out of range."""


def bounds(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False, hi_open: bool = False,
           speed_only: bool = False) -> dict:
    """Field metadata: the allowed range, and whether the value can only change speed, never an output."""
    return {"range": (lo, hi, lo_open, hi_open), "speed_only": speed_only}


# Seeds feed torch.Generator.manual_seed (at most 2**64 - 1), also as seed + 1 and seed * 1_000_003 + rank + 1.
SEED = bounds(0, 2**32 - 1)


def check_split(section: str, batch_size: int, processes: int) -> None:
    """ParamsError unless the global `batch_size` splits evenly across `processes`."""
    if batch_size % processes:
        raise ParamsError(f"{section}.batch_size: {batch_size} is not a multiple of {section}.processes "
                          f"({processes}); it is the global batch, split evenly across the processes")


def _coerce(key: str, value: Any, hint: Any) -> Any:
    """Return `value` as type `hint`, or raise ParamsError naming `key`."""
    origin = typing.get_origin(hint)
    if origin is Literal:
        allowed = typing.get_args(hint)
        if value not in allowed:
            raise ParamsError(f"{key}: {value!r} is not allowed; choose one of {', '.join(map(str, allowed))}")
        return value
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise ParamsError(f"{key}: expected a list, got {value!r}")
        return [_coerce(f"{key}[{i}]", v, item) for i, v in enumerate(value)]
    if hint is bool:
        if not isinstance(value, bool):
            raise ParamsError(f"{key}: expected true or false, got {value!r}")
        return value
    if hint in (int, float):
        # `dvc exp run -S nst.beta=1e-5` writes `1e-05`, which YAML 1.1 loaders return as a string.
        if isinstance(value, str):
            try:
                value = float(value) if hint is float else int(value)
            except ValueError:
                raise ParamsError(f"{key}: expected a number, got {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParamsError(f"{key}: expected a number, got {value!r}")
        if not math.isfinite(value):
            raise ParamsError(f"{key}: {value!r} is not a finite number")
        if hint is int and isinstance(value, float) and not value.is_integer():
            raise ParamsError(f"{key}: expected an integer, got {value!r}")
        return hint(value)
    if hint is str:
        if not isinstance(value, str):
            raise ParamsError(f"{key}: expected a string, got {value!r}")
        if "\0" in value:  # no path, URL or name holds one; the OS refuses it with a ValueError
            raise ParamsError(f"{key}: {value!r} contains a NUL character")
        return value
    raise TypeError(f"unsupported parameter type {hint!r}")


def _check_range(key: str, value: float, spec: tuple) -> None:
    lo, hi, lo_open, hi_open = spec
    below = lo is not None and (value <= lo if lo_open else value < lo)
    above = hi is not None and (value >= hi if hi_open else value > hi)
    if below or above:
        lo_txt = "" if lo is None else f"{'>' if lo_open else '>='} {lo}"
        hi_txt = "" if hi is None else f"{'<' if hi_open else '<='} {hi}"
        raise ParamsError(f"{key}: {value!r} is out of range; allowed {' and '.join(t for t in (lo_txt, hi_txt) if t)}")


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """A params class's field types, resolved once (get_type_hints evaluates every annotation of the class)."""
    return typing.get_type_hints(cls)


def check_field(cls: type, name: str, value: Any, key: str) -> Any:
    """`value` as params class `cls` takes it for field `name` (type, then range); ParamsError naming `key`."""
    value = _coerce(key, value, _hints(cls)[name])
    if spec := {f.name: f for f in dataclasses.fields(cls)}[name].metadata.get("range"):
        _check_range(key, value, spec)
    return value


def build(cls: type[T], raw: Any, prefix: str) -> T:
    """`raw` (a mapping) as dataclass `cls`, every field checked; nested dataclass fields are built in turn."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ParamsError(f"{prefix.rstrip('.') or 'params'}: expected a mapping, got {raw!r}")
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ParamsError(f"{prefix}{unknown[0]}: unknown parameter; known keys: {', '.join(fields)}")
    values = {}
    for name, value in raw.items():
        key, hint = f"{prefix}{name}", hints[name]
        values[name] = (build(hint, value, f"{key}.") if dataclasses.is_dataclass(hint)
                        else check_field(cls, name, value, key))
    missing = [name for name in fields if name not in raw]
    if missing:
        raise ParamsError(f"{prefix}{missing[0]}: missing; params.yaml gives every key (see the committed one)")
    return cls(**values)


def read_params(path: str | Path = "params.yaml") -> dict:
    """params.yaml as a mapping; ParamsError saying why the file is unreadable."""
    try:
        raw = YAML(typ="safe", pure=True).load(Path(path).read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        if not Path("dvc.yaml").is_file():
            raise ParamsError(f"{path}: not found in {Path.cwd()}: run stages from the repository root "
                              "(the folder with dvc.yaml and params.yaml)") from None
        raise ParamsError(f"{path}: cannot read: No such file or directory") from None
    except OSError as error:
        raise ParamsError(f"{path}: cannot read: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise ParamsError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except MarkedYAMLError as error:
        where = f", line {error.problem_mark.line + 1}" if error.problem_mark else ""
        raise ParamsError(f"{path}: not valid YAML{where}: {error.problem}") from None
    except YAMLError as error:
        raise ParamsError(f"{path}: not valid YAML: {' '.join(str(error).split())}") from None
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: expected a mapping of sections, got {raw!r}")
    return raw


def section(cls: type[T], raw: dict) -> T:
    """The section `cls.SECTION` of a params mapping, validated."""
    return build(cls, raw.get(cls.SECTION), f"{cls.SECTION}.")


def load_section(cls: type[T], path: str | Path = "params.yaml") -> T:
    """One validated section of params.yaml, e.g. `load_section(GanParams)`."""
    return section(cls, read_params(path))


def load_sections(*classes: type, path: str | Path = "params.yaml") -> tuple:
    """Several validated sections of params.yaml, in the order given."""
    raw = read_params(path)
    return tuple(section(cls, raw) for cls in classes)


def as_dict(values: Any) -> dict:
    """A params section as a plain dict (for fingerprints and reports)."""
    return dataclasses.asdict(values)


def speed_only(values: Any) -> set[str]:
    """Names of a section's keys that only change speed (no stage lists them as params: no output depends on them)."""
    return {f.name for f in dataclasses.fields(values) if f.metadata.get("speed_only")}
