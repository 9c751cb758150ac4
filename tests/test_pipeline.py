"""End to end: the real `dvc repro` on tiny params in a copy of the repo, then a beta experiment."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from apeart.config import load_params

ROOT = Path(__file__).resolve().parents[1]
TINY = {
    "data": {"limit": 12},
    "prepare": {"workers": 1},
    "gan": {"epochs": 1, "batch_size": 8, "ngf": 8, "ndf": 8, "grid_size": 4},
    "sample": {"batches": 1, "batch_size": 2},
    "nst": {"content_count": 2, "size": 32, "steps": 2},
}
STAGES = ["fetch", "prepare", "train_gan", "sample_styles", "stylize", "report"]


def run(cmd: list[str], cwd: Path, stdout_only: bool = False) -> str:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout if stdout_only else proc.stdout + proc.stderr


def ran(output: str) -> set[str]:
    return {s for s in STAGES if f"Running stage '{s}'" in output}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git+DVC copy of this repo's tracked files with tiny params, after a full `dvc repro`."""
    dst = tmp_path_factory.mktemp("repo")
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    outputs = ("data/", "models/", "reports/", "metrics/", ".cache/")
    for name in files:
        if (ROOT / name).is_file() and not name.startswith(outputs):
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dst / name)
    yaml = YAML()
    params = yaml.load(dst / "params.yaml")
    for section, values in TINY.items():
        params[section].update(values)
    yaml.dump(params, dst / "params.yaml")
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"],
                ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "tiny"]):
        run(cmd, dst)
    output = run(["dvc", "repro"], dst)
    assert ran(output) == set(STAGES)
    run(["git", "add", "-A"], dst)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "tiny run"], dst)
    return dst


def test_repro_writes_every_output(repo: Path) -> None:
    images = sorted((repo / "data/raw/images").glob("*.png"))
    assert len(images) == 12
    manifest = (repo / "data/raw/manifest.csv").read_text().splitlines()
    assert manifest[0].startswith("token_id,cid,sha256,bytes,background,fur") and len(manifest) == 13
    assert len(list((repo / "data/prepared/gan").glob("*.png"))) == 12
    assert len(list((repo / "data/prepared/content").glob("*.png"))) == 2
    assert (repo / "models/dcgan/generator.pt").is_file() and (repo / "models/dcgan/checkpoint.pt").is_file()
    for name in ("progress_start", "progress_middle", "progress_end", "real_vs_fake"):
        assert (repo / f"reports/gan/{name}.png").stat().st_size > 0
    assert len(list((repo / "data/styles/gan/batch_000").glob("*.png"))) == 2
    assert sorted(p.name for p in (repo / "reports/nst/results").iterdir()) == ["0.png", "1.png"]
    assert sorted(p.name for p in (repo / "reports/nst/snapshots").iterdir()) == [
        "step_00000.png", "step_00001.png", "step_00002.png"]
    gan = json.loads((repo / "metrics/train_gan/metrics.json").read_text())
    assert gan["steps"] == 2 and gan["epochs"] == 1
    nst = json.loads((repo / "metrics/stylize/metrics.json").read_text())
    assert nst["style_loss"] > 0 and set(nst["per_image"]) == {"0", "1"}
    html = (repo / "reports/index.html").read_text()
    assert html.count("data:image/png;base64,") >= 8 and 'src="http' not in html and "<script" not in html
    assert "up to date" in run(["dvc", "status"], repo).lower()


def test_beta_experiment_reruns_only_what_depends_on_it(repo: Path) -> None:
    output = run(["dvc", "exp", "run", "-S", "nst.beta=1e-5"], repo)
    assert ran(output) == {"stylize", "report"}
    assert "beta: 1e-05" in (repo / "params.yaml").read_text()
    assert load_params(repo / "params.yaml").nst.beta == 1e-05
    diff = json.loads(run(["dvc", "metrics", "diff", "--json"], repo, stdout_only=True))
    assert "style_loss" in diff["metrics/stylize/metrics.json"]
    assert "metrics/train_gan/metrics.json" not in diff
