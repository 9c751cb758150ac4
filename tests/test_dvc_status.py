"""`dvc status` is stale for exactly the right stages: after a change to every params key, every stage
shows exactly the keys its code can read (stage_graph's static reading), after an edit to every source
file every code dep it lists; speed-only keys make nothing stale; a figure key re-runs no training."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import stage_graph as g
from PIL import Image
from repo_copy import clone_built, ran, run, write_params
from ruamel.yaml import YAML

pytestmark = pytest.mark.slow  # `pytest -m 'not slow'` is the fast inner loop


def changed(value: object) -> object:
    """A different value of the same type (DVC compares values; validity does not matter here)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, list):
        return [*value, value[0] if value else 1]
    raise TypeError(value)


def status(repo: Path) -> dict[str, dict[str, object]]:
    """{stage: {dep path or `params.yaml:key`: state}} from `dvc status --json` over both pipelines."""
    out = {}
    for target in ("dvc.yaml", "experiments/dvc.yaml"):
        output = run(["dvc", "status", "--json", target], repo, stdout_only=True, timeout=120)
        for stage, entries in json.loads(output).items():
            name = stage.split(":")[-1]
            for entry in entries:
                for path, state in (entry.get("changed deps") or {}).items():
                    if isinstance(state, dict):  # params.yaml: {key: state}
                        out.setdefault(name, {}).update({f"params.yaml:{k}": v for k, v in state.items()})
                    else:
                        out.setdefault(name, {})[path] = state
    return out


def set_params(repo: Path, keys: set[str]) -> None:
    """Each of `keys` in `repo`'s params.yaml set to a `changed` value."""
    params = YAML(typ="safe").load(repo / "params.yaml")
    write_params(repo, {key: changed(params[key.split(".")[0]][key.split(".")[1]]) for key in keys})


def changed_keys(deps: dict[str, object]) -> set[str]:
    """The `section.key`s among a stage's changed deps (`status`), a whole-section param expanded to its keys."""
    keys = {k.removeprefix("params.yaml:") for k in deps if k.startswith("params.yaml:")}
    return {f"{k}.{f}" for k in keys if k in g.FIELDS for f in g.FIELDS[k]} | (keys - set(g.FIELDS))


@pytest.fixture(scope="module")
def repo(built_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return clone_built(built_repo, tmp_path_factory.mktemp("status") / "apeart")


def test_built_repo_is_up_to_date_and_speed_only_keys_change_nothing(repo: Path) -> None:
    assert status(repo) == {}
    set_params(repo, g.speed_only())
    assert status(repo) == {"check_params": {"params.yaml": "modified"}}  # validates them; its out stays the same


def test_every_key_and_file_makes_exactly_its_readers_stale(repo: Path) -> None:
    every = {f"{s}.{k}" for s, keys in g.FIELDS.items() for k in keys}
    set_params(repo, every)
    for path in [*(repo / "src").rglob("*.py"), *(repo / "stages").glob("*.py")]:
        path.write_text(path.read_text() + "\n# edited\n")
    seen = status(repo)
    for name, spec in g.stages().items():
        assert changed_keys(seen.get(name, {})) == g.param_reads(g.script(spec)) - g.speed_only(), name
        code = {p for p in seen.get(name, {}) if p.startswith(("src/", "stages/"))}
        imported = {g.rel(p) for p in g.used_files(spec)}
        assert code and all(any(i == p or i.startswith(p + "/") for i in imported) for p in code), name
        assert all(any(i == p or i.startswith(p + "/") for p in code) for i in imported), name


def test_a_fifo_or_dev_zero_link_among_the_paintings_does_not_hang_dvc(built_repo: Path, tmp_path: Path) -> None:
    """.dvcignore shows DVC only the image names of data/styles/paintings: `dvc status` returns (DVC would read
    a FIFO or /dev/zero for ever), and a new painting still makes its readers stale."""
    repo = clone_built(built_repo, tmp_path / "apeart")
    paintings = repo / "data/styles/paintings"
    os.mkfifo(paintings / "notes")
    (paintings / "zero").symlink_to("/dev/zero")
    assert status(repo) == {}
    (paintings / "new.JPG").write_bytes((paintings / "the_scream.jpg").read_bytes())
    assert status(repo)["stylize"] == {"data/styles/paintings": "modified"}


def test_a_figure_key_reruns_its_figure_stage_and_the_report_never_training(built_repo: Path, tmp_path: Path) -> None:
    """Each `figures.*` key makes only check_params (a dep of all of params.yaml), its model's figure stage and
    the report stale (one `dvc status` with every key changed: it lists each stale stage's changed keys); a real
    `dvc repro` then runs those three and draws the changed figure."""
    repo = clone_built(built_repo, tmp_path / "apeart")
    keys = {f"figures.{key}" for key in g.FIELDS["figures"]}
    set_params(repo, keys)
    seen = status(repo)
    assert set(seen) == {"check_params", "gan_figures", "vaegan_figures", "report"}  # check_params: params.yaml
    for key in keys:
        model = key.split(".")[1].split("_")[0]  # figures.gan_grid_size -> gan
        readers = {stage for stage, deps in seen.items() if key in changed_keys(deps)}
        assert readers == {f"{model}_figures", "report"}, key
    run(["git", "checkout", "--", "params.yaml"], repo)
    epochs = YAML(typ="safe").load(repo / "params.yaml")["gan"]["epochs"]
    before = {p.name for p in (repo / "reports/gan/progress").iterdir()}
    set_params(repo, {"figures.gan_grid_size"})  # 4 -> 5 samples: the grids grow by a row
    assert ran(run(["dvc", "repro"], repo)) == {"check_params", "gan_figures", "report"}
    assert {p.name for p in (repo / "reports/gan/progress").iterdir()} == before
    final = Image.open(repo / "reports/gan/progress" / f"epoch_{epochs:03d}.png")
    assert final.size == (2 * 66 + 2, 3 * 66 + 2)  # 5 samples, 2 a row: 3 rows of 64 px tiles, 2 px padding
