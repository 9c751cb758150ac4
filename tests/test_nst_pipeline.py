"""The NST experiment stages in the real pipelines (tiny params): reconstruct, the in-run beta sweep of
experiments/dvc.yaml, and the beta grid of DVC experiments (stages/sweep_grid.py)."""
import json
import sys
from pathlib import Path

import pytest
from PIL import Image
from repo_copy import clone_built, run

pytestmark = pytest.mark.slow  # `pytest -m 'not slow'` is the fast inner loop


@pytest.fixture(scope="module")
def repo(built_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return clone_built(built_repo, tmp_path_factory.mktemp("nst") / "apeart")


def test_default_run_writes_reconstructions_and_per_image_losses(repo: Path) -> None:
    for name in ("style_rows.png", "content_rows.png"):
        assert Image.open(repo / "reports/reconstruct" / name).size[0] > 0
    summary = json.loads((repo / "reports/reconstruct/reconstruct.json").read_text())
    assert sorted(summary["style"]) == ["+conv2_1", "+conv3_1", "+conv4_1", "+conv5_1", "conv1_1"]
    assert json.loads((repo / "reports/nst/losses.json").read_text())["0"]["tv_loss"] > 0
    for curve in ("total", "content", "style", "tv"):
        assert (repo / f"metrics/stylize/plots/metrics/{curve}_loss.tsv").is_file()


def test_in_run_sweep_renders_rows_by_beta(repo: Path) -> None:
    """The built repo ran `dvc repro experiments/dvc.yaml` with nst.sweep_betas [1e-6, 1e-4] (repo_copy.TINY)."""
    out = repo / "reports/sweep/inrun"
    assert sorted(p.name for p in out.iterdir()) == ["beta_0.0001", "beta_1e-06", "beta_grid.png", "sweep.json"]
    assert sorted(p.name for p in (out / "beta_1e-06").iterdir()) == ["0.png", "1.png"]
    width, height = Image.open(out / "beta_grid.png").size
    assert width > 4 * 96 and 2 * 96 < height < 3 * 96 + 40  # 2 rows; content | 2 betas | style


def test_grid_of_experiments(repo: Path) -> None:
    run(["dvc", "exp", "run", "stylize", "-S", "nst.beta=1e4"], repo)
    run([sys.executable, "stages/sweep_grid.py"], repo)
    width, height = Image.open(repo / "reports/sweep/beta_grid.png").size
    assert width > 2 * 96 and height > 2 * 96  # 2 rows: content | beta=10000


def test_grid_picks_finished_experiments_newest_per_beta() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "stages"))
    from sweep_grid import finished_experiments, newest_per_beta

    def rev(name, beta, ts, error=None):
        return {"rev": name * 8, "name": name, "error": error, "experiments": None,
                "data": {"timestamp": ts, "params": {"params.yaml": {"data": {"nst": {"beta": beta}}}}}}

    show = [
        {"rev": "workspace", "name": None, "data": {}, "experiments": None},
        {"rev": "head", "name": "main", "data": {}, "experiments": [
            {"executor": None, "name": "a", "revs": [rev("a", 10, "2026-01-01T10:00:00")]},
            {"executor": {"state": "success"}, "name": "b", "revs": [rev("b", "1e-05", "2026-01-01T11:00:00")]},
            {"executor": None, "name": "c", "revs": [rev("c", 10, "2026-01-01T12:00:00")]},
            {"executor": {"state": "queued"}, "name": "q", "revs": [rev("q", 3, "2026-01-01T13:00:00")]},
            {"executor": {"state": "failed"}, "name": "f", "revs": [rev("f", 4, "2026-01-01T13:00:00")]},
            {"executor": None, "name": "e", "revs": [rev("e", 5, "2026-01-01T13:00:00", error={"msg": "x"})]},
        ]},
    ]
    chosen = newest_per_beta(finished_experiments(show, []))
    assert list(chosen) == [1e-05, 10.0] and chosen[10.0]["name"] == "c"
    assert [e["name"] for e in finished_experiments(show, ["a"])] == ["a"]
