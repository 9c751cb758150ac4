"""Each stage reads only its deps and writes only its outs, seen by tracing every file it opened during the
session's tiny `dvc repro` (tests/trace/sitecustomize.py, an audit hook on open and rename)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import stage_graph as g
from repo_copy import trace_file
from ruamel.yaml import YAML

pytestmark = pytest.mark.slow  # `pytest -m 'not slow'` is the fast inner loop

RESUME_STATE = {"train_gan": ".cache/train_gan", "train_vaegan": ".cache/train_vaegan", "train_texnet": ".cache/train_texnet",
                "texnet_round_trip": ".cache/texnet_round_trip", "stylize_collection": ".cache/stylize_collection",
                "stylize_collection_gatys": ".cache/stylize_collection_gatys"}  # outside the outs on purpose: DVC deletes outs before a run
IGNORED = (".git/", ".dvc/")
REPO_CONFIG = [".gitignore", ".dvcignore", "params.yaml"]  # every stage reads params
ORDER = "data/params.ok"  # check_params' out: every stage lists it so that DVC runs check_params first; none reads it
TEMP = re.compile(r"(.*/)?\.(.+)\.\w+\.tmp")  # core.files' temp name for <dir>/<name>, renamed over it


def resolved(path: str, params: dict) -> str:
    """A dvc.yaml path with its ${section.key} templates filled from params.yaml."""
    return re.sub(r"\$\{(\w+)\.(\w+)\}", lambda m: str(params[m[1]][m[2]]), path)


def outs(spec: dict) -> list[str]:
    entries = [*spec.get("outs", []), *spec.get("metrics", []), *spec.get("plots", [])]
    return [next(iter(e)) if isinstance(e, dict) else e for e in entries]


@pytest.fixture(scope="module")
def traced(built_repo: Path) -> dict[str, dict[str, set[str]]]:
    """{stage: {"r": paths read, "w": paths written}} inside the repo, by stage script."""
    scripts = {g.rel(g.script(spec)): name for name, spec in g.stages().items()}
    found: dict[str, dict[str, set[str]]] = {name: {"r": set(), "w": set()} for name in scripts.values()}
    root = str(built_repo.resolve()) + "/"
    for line in trace_file(built_repo).read_text().splitlines():
        argv0, kind, path = line.split("\t")
        if argv0 in scripts and path.startswith(root):
            relative = path[len(root):]
            if not relative.startswith(IGNORED) and "__pycache__" not in relative:
                temp = TEMP.fullmatch(relative)
                found[scripts[argv0]][kind].add(f"{temp[1] or ''}{temp[2]}" if temp else relative)
    return found


@pytest.mark.parametrize("name", sorted(g.stages()))
def test_reads_are_deps_and_writes_are_outs(name: str, traced: dict, built_repo: Path) -> None:
    spec = g.stages()[name]
    params = YAML(typ="safe").load(built_repo / "params.yaml")
    deps = [resolved(d, params) for d in g.declared_deps(spec)] + REPO_CONFIG
    allowed_out = outs(spec) + ([RESUME_STATE[name]] if name in RESUME_STATE else [])
    within = lambda p, roots: any(p == r or p.startswith(r.rstrip("/") + "/") for r in roots)  # noqa: E731
    reads, writes = traced[name]["r"], traced[name]["w"]
    assert reads and writes, f"no trace of {name}"
    undeclared = sorted(p for p in reads - writes if not within(p, deps + allowed_out))
    assert not undeclared, f"{name} read {undeclared}, which are not among its deps"
    stray = sorted(p for p in writes if not within(p, allowed_out))
    assert not stray, f"{name} wrote {stray} outside its outs"
    data_deps = [d for d in g.declared_deps(spec) if not d.startswith(("src/", "stages/")) and "${" not in d
                 and d != ORDER]
    unread = [d for d in data_deps if not any(within(p, [d]) for p in reads)]
    assert not unread, f"{name} lists {unread} as deps but never read them"
