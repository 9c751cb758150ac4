"""Gatys over a collection, sharded (nst/collection.py): each rank does only its own chunks and the files are
byte-identical to one process's; under real torchrun (2 processes on gloo, one thread each) a SIGKILLed rank and a
relaunch finish the job without redoing a finished chunk, with the same bytes. (The stage itself under torchrun
against one process: tests/test_pipeline.py.)"""
from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import defaults
from apeart.core.files import save_png
from apeart.core.grids import to_pil
from apeart.nst.collection import chunks, run_key
from nst_shard import CHUNKS, shard

pytestmark = pytest.mark.slow  # optimises images (the killed-rank test under torchrun)


def _torchrun(root: Path, work: str, **env_vars: str) -> subprocess.CompletedProcess:
    """tests/nst_shard.py on two ranks under torchrun, into `root/work`."""
    script = Path(__file__).with_name("nst_shard.py")
    return subprocess.run([sys.executable, *defaults.torchrun(2, root / "torchrun"), "-m", "apeart", str(script),
                           str(root), str(root / work)],
                          capture_output=True, text=True, timeout=600, env=defaults.child_env(**env_vars))


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.png"))}


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The files of the whole job in one process (this one: `transfer` seeds itself, `shard` sets one thread)."""
    work = tmp_path_factory.mktemp("single") / "work"
    assert shard(work) == CHUNKS
    return _digests(work)


def test_each_rank_writes_only_its_chunks_and_the_files_of_one_process(single: dict[str, str], tmp_path: Path) -> None:
    shares = [shard(tmp_path / "work", rank, 2) for rank in (0, 1)]
    assert shares == [CHUNKS[0::2], CHUNKS[1::2]]  # chunk i on rank i % 2, nothing twice
    assert _digests(tmp_path / "work") == single and len(single) == 7


@pytest.mark.processes
def test_a_killed_rank_then_a_relaunch_redoes_no_finished_chunk(single: dict[str, str], tmp_path: Path) -> None:
    killed = _torchrun(tmp_path, "work", KILL_RANK="1")
    assert killed.returncode != 0
    files = {p.stem for p in (tmp_path / "work").glob("*.png")}
    assert {"2", "3"} <= files and not {"6"} & files  # rank 1 wrote its first chunk, then died
    finished = {c for c in CHUNKS if set(c.split()) <= files}  # rank 0, stopped by torchrun, may be mid-chunk
    resumed = _torchrun(tmp_path, "work")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    shares = [[c for c in (tmp_path / f"work-rank{r}.txt").read_text().split(",") if c] for r in (0, 1)]
    assert all(set(share) <= set(CHUNKS[r::2]) for r, share in enumerate(shares))  # each torchrun rank its own
    redone = {c for share in shares for c in share}
    assert redone and not redone & finished
    assert _digests(tmp_path / "work") == single


def test_chunks_are_fixed_by_the_names_alone() -> None:
    assert chunks([str(i) for i in range(5)], 2) == [["0", "1"], ["2", "3"], ["4"]]


def test_the_run_key_changes_with_what_decides_an_output(tmp_path: Path) -> None:
    params, styles, weights = defaults.nst(), [torch.zeros(3, 8, 8)], {"sha256": "a"}
    contents = [tmp_path / "0.png", tmp_path / "1.png"]
    for path in contents:
        path.write_bytes(path.name.encode())
    key = run_key(params, styles, weights, contents)
    assert key == run_key(defaults.nst(device="cpu", sweep_betas=[1.0]), styles, weights, contents)  # no output change
    assert key != run_key(defaults.nst(beta=2e-6), styles, weights, contents)
    assert key != run_key(defaults.nst(content_count=3), styles, weights, contents)
    assert key != run_key(params, [torch.ones(3, 8, 8)], weights, contents)
    assert key != run_key(params, styles, {"sha256": "b"}, contents)
    assert key != run_key(params, styles, weights, contents[::-1])
    contents[1].write_bytes(b"another ape")  # e.g. another data.seed: other content, the same names
    assert key != run_key(params, styles, weights, contents)


def test_files_planted_in_the_resume_folder_are_redone(single: dict[str, str], tmp_path: Path) -> None:
    """A 1x1 PNG and an unstylised image decode fine, but no run recorded them: their chunks are redone."""
    work = tmp_path / "work"
    work.mkdir()
    save_png(to_pil(torch.zeros(3, 1, 1)), work / "4.png")
    save_png(to_pil(torch.rand(3, 32, 32)), work / "5.png")
    assert shard(work) == CHUNKS
    assert _digests(work) == single
