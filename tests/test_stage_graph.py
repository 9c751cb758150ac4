"""dvc.yaml tells the truth: each stage's code deps and params are exactly what its code imports and can read.

Derived from the code by `stage_graph` (imports walked transitively, params read statically), never from a
second hand-kept list. `test_dvc_status.py` checks that DVC itself sees the same, and `test_stage_io.py`
that the data files each stage opens are deps and the files it writes are outs.
"""
from __future__ import annotations

import pytest
import stage_graph as g

STAGES = g.stages()
CORE = "src/apeart/core"  # the shared kernel: a dep of every stage by design (DESIGN.md "Layout")


def covered(path: str, deps: list[str]) -> bool:
    return any(path == d or path.startswith(d + "/") for d in deps)


def code_deps(spec: dict) -> list[str]:
    return [d for d in g.declared_deps(spec) if d.startswith(("src/", "stages/"))]


def declared_params(spec: dict) -> set[str]:
    """The stage's params as `section.key`, a whole section expanded to its keys."""
    keys = set()
    for entry in spec.get("params", []):
        keys |= {f"{entry}.{k}" for k in g.FIELDS[entry]} if entry in g.FIELDS else {entry}
    return keys


def test_both_pipelines_are_seen() -> None:
    assert {"fetch", "train_gan", "evaluate_gan", "stylize", "reconstruct", "report", "sweep_betas"} <= set(STAGES)


@pytest.mark.parametrize("name", sorted(STAGES))
def test_every_imported_file_is_a_dep_and_every_dep_is_used(name: str) -> None:
    spec = STAGES[name]
    used = {g.rel(p) for p in g.used_files(spec)}
    deps = code_deps(spec)
    missing = sorted(p for p in used if not covered(p, deps))
    assert not missing, f"{name} imports {missing}, which are not among its deps"
    for dep in deps:
        path = g.ROOT / dep
        files = {g.rel(f) for f in path.rglob("*.py")} if path.is_dir() else {dep}
        unused = files - used
        if dep == CORE:
            assert files & used, f"{name} lists {CORE} but imports none of it"
        else:
            assert not unused, f"{name} lists {dep}, but never imports {sorted(unused)}"


@pytest.mark.parametrize("name", sorted(STAGES))
def test_params_are_exactly_the_keys_the_code_can_read(name: str) -> None:
    spec = STAGES[name]
    reads = g.param_reads(g.script(spec)) - g.speed_only()
    declared = declared_params(spec)
    assert not reads - declared, f"{name} can read {sorted(reads - declared)} but does not list them"
    assert not declared - reads, f"{name} lists {sorted(declared - reads)} but never reads them"


def test_every_param_is_read_by_some_stage_and_speed_only_ones_by_none() -> None:
    read = set().union(*(g.param_reads(g.script(s)) for s in STAGES.values()))
    every = {f"{s}.{k}" for s, keys in g.FIELDS.items() for k in keys}
    assert every - read == set(), "params no stage reads"
    assert g.speed_only() == {"data.concurrency", "data.per_gateway", "prepare.workers", "texnet.workers"}
    assert not any(g.speed_only() & declared_params(s) for s in STAGES.values())


def test_the_analysis_sees_reads_through_aliases_arguments_and_whole_sections() -> None:
    """The analysis itself: a read through an annotated argument, an alias, `self.params`, a chain
    on the whole Params and `asdict` of a section are all found; a read in an unreachable function is not."""
    reads = g.param_reads(g.ROOT / "stages/train_gan.py")
    assert {"gan.ema_decay", "gan.precision"} <= reads  # self.params.ema_decay, p = self.params
    assert not any(k.startswith(("nst.", "data.", "figures.")) for k in reads)
    assert "figures.gan_walk_rows" in g.param_reads(g.ROOT / "stages/gan_figures.py")  # an annotated argument
    assert "nst.beta" not in g.param_reads(g.ROOT / "stages/reconstruct.py")  # transfer() is never called there
    assert {"data.limit", "sample.seed"} <= g.param_reads(g.ROOT / "stages/report.py")  # asdict(params)
