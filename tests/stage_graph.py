"""What each DVC stage uses, derived from the code: its imports inside the repo and the params keys it reads.

Imports: the transitive closure of the stage script's imports that resolve to files under `src/`
(package `__init__.py` files included, since importing a module runs them).
Params: a static read of every file in that closure (core/config.py, the validator, excepted): attribute
reads on variables that hold a params section (`load_section(NstParams)`, `gan, ev = load_sections(GanParams,
EvaluateParams)`, `params = load_params().nst`, an argument annotated
`NstParams`, an alias or `dataclasses.replace` of one), `section.key` chains on a whole `Params`, and
`as_dict`/`asdict` of a section (every key). A key read anywhere in the closure counts, whatever the
configuration, so a stage lists every key it *could* read.
"""
from __future__ import annotations

import ast
import dataclasses
import shlex
import typing
from functools import cache
from pathlib import Path

from ruamel.yaml import YAML

from apeart import params
from apeart.core import config

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PIPELINES = ("dvc.yaml", "experiments/dvc.yaml")
VALIDATOR = SRC / "apeart/core/config.py"
SECTIONS = {f.name: typing.get_type_hints(params.Params)[f.name] for f in dataclasses.fields(params.Params)}
SECTION_OF_CLASS = {cls.__name__: name for name, cls in SECTIONS.items()}
FIELDS = {name: [f.name for f in dataclasses.fields(cls)] for name, cls in SECTIONS.items()}
WHOLE = "*"  # marks a variable holding the whole Params


def stages() -> dict[str, dict]:
    """Every stage of the project's pipelines by name, with `wdir` resolved to the repo root."""
    found = {}
    for name in PIPELINES:
        path = ROOT / name
        if path.is_file():
            for stage, spec in (YAML(typ="safe").load(path).get("stages") or {}).items():
                found[stage] = {**spec, "dvcfile": name}
    return found


def rel(path: Path) -> str:
    return path.resolve().relative_to(ROOT).as_posix()


def _stage_root(spec: dict) -> Path:
    return (ROOT / spec["dvcfile"]).parent / spec.get("wdir", ".")


def script(spec: dict) -> Path:
    """The Python file a stage's cmd runs (`python -m apeart path.py`, `python path.py` or `python -m module`)."""
    words = shlex.split(spec["cmd"] if isinstance(spec["cmd"], str) else spec["cmd"][0])
    if any(w.endswith(".py") for w in words):
        return (_stage_root(spec) / next(w for w in words if w.endswith(".py"))).resolve()
    return _module_file(words[words.index("-m") + 1])


def used_files(spec: dict) -> frozenset[Path]:
    """What a stage's cmd runs: the launcher module of `python -m <module> script.py` and the script's imports."""
    words = shlex.split(spec["cmd"] if isinstance(spec["cmd"], str) else spec["cmd"][0])
    launcher = _module_file(words[words.index("-m") + 1]) if "-m" in words else None
    main = launcher.with_name("__main__.py") if launcher and launcher.name == "__init__.py" else launcher
    return imports(script(spec)) | ({main} if main else set())


def declared_deps(spec: dict) -> list[str]:
    """The stage's deps as repo-relative paths."""
    return [rel(_stage_root(spec) / d) for d in spec.get("deps", [])]


def _module_file(name: str) -> Path | None:
    base = SRC.joinpath(*name.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _package_of(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts if path.is_relative_to(SRC) else ()
    return ".".join(parts[:-1]) if parts else ""


def _from_module(path: Path, node: ast.ImportFrom) -> str:
    """The absolute module name of a `from ... import` in `path` (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    pkg = _package_of(path).split(".")
    return ".".join(pkg[: len(pkg) - node.level + 1] + ([node.module] if node.module else []))


def _imported_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = _from_module(path, node)
            names |= {base} | {f"{base}.{a.name}" for a in node.names}
    return names


@cache
def imports(path: Path) -> frozenset[Path]:
    """`path` and every file under src/ it imports, transitively (packages' `__init__.py` included)."""
    seen, todo = {path}, [path]
    while todo:
        for name in _imported_names(todo.pop()):
            parts = name.split(".")
            for i in range(1, len(parts) + 1):
                found = _module_file(".".join(parts[:i]))
                if found and found not in seen:
                    seen.add(found)
                    todo.append(found)
    return frozenset(seen)


def _section_of_annotation(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        node = ast.parse(node.value, mode="eval").body
    if isinstance(node, ast.Attribute):
        node = ast.Name(node.attr)
    if isinstance(node, ast.Name):
        return WHOLE if node.id == "Params" else SECTION_OF_CLASS.get(node.id)
    return None


def _call_name(node: ast.expr) -> str:
    if not isinstance(node, ast.Call):
        return ""
    return node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")


def _section_of_value(node: ast.expr, known: dict[str, str]) -> str | None:
    """Which section an expression holds: `load_params()`, `load_params().nst`, `p`, `p.nst`, `replace(p, ...)`."""
    if isinstance(node, ast.Call):
        func = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if func in ("load_params", "parse_params"):
            return WHOLE
        if func == "load_section" and node.args:
            return _section_of_annotation(node.args[0])
        if func == "replace" and node.args:
            return _section_of_value(node.args[0], known)
        return None
    if isinstance(node, (ast.Name, ast.Attribute)) and ast.unparse(node) in known:
        return known[ast.unparse(node)]
    if isinstance(node, ast.Attribute) and node.attr in SECTIONS:
        return node.attr if _section_of_value(node.value, known) == WHOLE else None
    return None


@cache
def _known(path: Path) -> dict[str, str]:
    """The variables of one file that hold a params section (or the whole Params), by name."""
    tree = _parsed(path)
    known: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            for arg in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]:
                section = _section_of_annotation(getattr(arg, "annotation", None))
                if section:
                    known[arg.arg] = section
    for _ in range(3):  # aliases of aliases
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target, value = node.targets[0], node.value
                if isinstance(target, ast.Tuple) and _call_name(value) == "load_sections":
                    known |= {ast.unparse(t): s for t, a in zip(target.elts, value.args)
                              if (s := _section_of_annotation(a))}
                    continue
                pairs = (zip(target.elts, value.elts) if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple)
                         else [(target, value)])
                for t, v in pairs:
                    section = _section_of_value(v, known)
                    if section and isinstance(t, (ast.Name, ast.Attribute)):
                        known[ast.unparse(t)] = section
    return known


def _reads_in(path: Path, nodes: list[ast.AST]) -> set[str]:
    """`section.key` reads in `nodes` of one file (variables tracked by name across the whole file)."""
    known = _known(path)
    reads: set[str] = set()
    for node in (sub for n in nodes for sub in ast.walk(n)):
        if isinstance(node, ast.Attribute):
            section = _section_of_value(node.value, known)
            if section and section != WHOLE and node.attr in FIELDS[section]:
                reads.add(f"{section}.{node.attr}")
        elif isinstance(node, ast.Call) and node.args:
            func = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            section = _section_of_value(node.args[0], known)
            if func in ("as_dict", "asdict") and section:
                reads |= {f"{s}.{k}" for s in (SECTIONS if section == WHOLE else [section]) for k in FIELDS[s]}
            elif func == "getattr" and section and isinstance(node.args[1], ast.Constant):
                reads.add(f"{section}.{node.args[1].value}")
    return reads


@cache
def _top_defs(path: Path) -> dict[str, ast.AST]:
    return {n.name: n for n in _parsed(path).body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


@cache
def _aliases(path: Path) -> dict[str, tuple[Path, str | None]]:
    """Local name -> (file, top-level name) for `from x import f`, or (file, None) for a module alias."""
    out: dict[str, tuple[Path, str | None]] = {}
    for node in ast.walk(_parsed(path)):
        if isinstance(node, ast.ImportFrom):
            base = _from_module(path, node)
            for a in node.names:
                module = _module_file(f"{base}.{a.name}")
                if module:
                    out[a.asname or a.name] = (module, None)
                elif _module_file(base):
                    out[a.asname or a.name] = (_module_file(base), a.name)
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.asname and _module_file(a.name):
                    out[a.asname] = (_module_file(a.name), None)
    return out


@cache
def _parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text())


def reachable(path: Path) -> list[tuple[Path, ast.AST]]:
    """The code a stage script can run: its own body, module-level code of what it imports, and every
    top-level function or class (whole) referenced from reachable code, across files."""
    nodes: list[tuple[Path, ast.AST]] = []
    seen: set[tuple[Path, str]] = set()
    todo: list[tuple[Path, ast.AST]] = [(path, _parsed(path))]
    for f in imports(path):
        if f != path:
            tree = _parsed(f)
            todo += [(f, n) for n in tree.body if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    while todo:
        f, node = todo.pop()
        nodes.append((f, node))
        defs, aliases = _top_defs(f), _aliases(f)
        for sub in ast.walk(node):
            target = None
            if isinstance(sub, ast.Name):
                if sub.id in defs:
                    target = (f, sub.id)
                elif sub.id in aliases and aliases[sub.id][1]:
                    target = aliases[sub.id]
            elif isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name) and sub.value.id in aliases:
                module, name = aliases[sub.value.id]
                if name is None:
                    target = (module, sub.attr)
            if target and target not in seen:
                seen.add(target)
                found = _top_defs(target[0]).get(target[1])
                if found is not None:
                    todo.append((target[0], found))
    return nodes


@cache
def param_reads(path: Path) -> frozenset[str]:
    """Every params key (`section.key`) the code reachable from `path` can read."""
    reads: set[str] = set()
    by_file: dict[Path, list[ast.AST]] = {}
    for f, node in reachable(path):
        by_file.setdefault(f, []).append(node)
    for f, nodes in by_file.items():
        if f != VALIDATOR:
            reads |= _reads_in(f, nodes)
    return frozenset(reads)


def speed_only() -> set[str]:
    """Keys marked speed-only in config (they cannot change any output, so no stage lists them)."""
    return {f"{s}.{k}" for s, cls in SECTIONS.items() for k in config.speed_only(cls)}
