"""The NST experiment stages in the real pipelines (tiny params): reconstruct, the in-run beta sweep of
experiments/dvc.yaml, and the beta grid of DVC experiments (`apeart-beta-grid`)."""
import json
import sys
from pathlib import Path

import pytest
from PIL import Image
from repo_copy import clone_built, run

pytestmark = pytest.mark.slow  # `pytest -m 'not slow'` is the fast inner loop


@pytest.fixture(scope="module")
def repo(built_repo: Path) -> Path:
    """The session's tiny run (conftest.built_repo): these tests only read it."""
    return built_repo


def test_default_run_writes_reconstructions_and_per_image_losses(repo: Path) -> None:
    for name in ("style_rows.png", "content_rows.png"):
        assert Image.open(repo / "reports/reconstruct" / name).size[0] > 0
    summary = json.loads((repo / "reports/reconstruct/reconstruct.json").read_text())
    assert sorted(summary["style"]) == ["+conv2_1", "+conv3_1", "+conv4_1", "+conv5_1", "conv1_1"]
    assert json.loads((repo / "reports/nst/losses.json").read_text())["0"]["tv_loss"] > 0
    for curve in ("total", "content", "style", "tv"):
        assert (repo / f"metrics/nst/curves/{curve}_loss.tsv").is_file()


def test_in_run_sweep_renders_rows_by_beta(repo: Path) -> None:
    """The built repo ran `dvc repro experiments/dvc.yaml` with nst.sweep_betas [1e-6, 1e-4] (repo_copy.TINY)."""
    out = repo / "experiments/sweep_betas"
    assert sorted(p.name for p in out.iterdir()) == ["beta_0.0001", "beta_1e-06", "beta_grid.png", "sweep.json"]
    assert sorted(p.name for p in (out / "beta_1e-06").iterdir()) == ["0.png", "1.png"]
    width, height = Image.open(out / "beta_grid.png").size
    assert width > 4 * 96 and 2 * 96 < height < 3 * 96 + 40  # 2 rows; content | 2 betas | style


def test_grid_of_experiments(beta_experiment: tuple[Path, str], tmp_path: Path) -> None:
    repo = clone_built(beta_experiment[0], tmp_path / "apeart")  # the session's `dvc exp run -S nst.beta=1e-5`
    run([str(Path(sys.executable).parent / "apeart-beta-grid")], repo)  # the console entry point
    width, height = Image.open(repo / "reports/sweep/beta_grid.png").size
    assert width > 2 * 96 and height > 2 * 96  # 2 rows: content | beta=1e-05


def test_grid_picks_finished_experiments_newest_per_beta() -> None:
    from apeart.studies.grid import finished_experiments, newest_per_beta

    def row(name, beta, state=None, typ="branch_commit"):  # as dvc.api.exp_show() gives them, newest first
        return {"Experiment": name, "rev": (name or "h") * 7, "typ": typ, "State": state, "nst.beta": beta}

    rows = [row(None, 1, typ="baseline"), row("c", 10.0), row("q", 3.0, "Queued"), row("f", 4.0, "Failed"),
            row("b", 1e-05, "Success"), row("a", 10.0), row("n", None)]
    chosen = newest_per_beta(finished_experiments(rows, []))
    assert list(chosen) == [1e-05, 10.0] and chosen[10.0]["name"] == "c"
    assert [e["name"] for e in finished_experiments(rows, ["a"])] == ["a"]


def test_stylize_metrics_are_the_losses_of_the_saved_pngs(repo: Path) -> None:
    """Recomputed here from the result PNGs with seed 000's formulas (not the library's loss code): the
    batch means in metrics.json agree within 1%, and the curve's last row is the same numbers."""
    import torch

    from apeart.params import load_params
    from apeart.nst.inputs import load_rgb, load_styles
    from apeart.vgg.backbones import VGGFeatures

    p = load_params(repo / "params.yaml").nst
    assert p.gram_norm == "sum356" and p.style_source == "gan" and not p.style_layer_weights  # equal, sum 1
    net = VGGFeatures(p.backbone, p.content_layers + p.style_layers, p.pooling)
    styles = load_styles(p, repo / "data/styles/gan")

    def features(image: torch.Tensor) -> dict[str, torch.Tensor]:
        x = net.to_input(image[None])
        scale = (356**2 / (x.shape[-2] * x.shape[-1])) ** 0.5 / net.feature_scale  # sums at 356 px, torchvision units
        return {k: (v[0] * scale).flatten(1).double() for k, v in net(x).items()}

    def gram(f: torch.Tensor) -> torch.Tensor:
        return f @ f.T

    names = sorted(p.stem for p in (repo / "reports/nst/results").glob("*.png"))
    targets = [{k: gram(f) for k, f in features(s).items()} for s in styles]
    content_losses, style_losses = [], []
    with torch.no_grad():
        for name in names:
            result = features(load_rgb(repo / f"reports/nst/results/{name}.png"))
            content = features(load_rgb(repo / f"data/prepared/content/{name}.png"))
            content_losses.append(sum(float((result[k] - content[k]).square().sum()) for k in p.content_layers))
            style_losses.append(sum(float((gram(result[k]) - t[k]).square().sum()) / len(p.style_layers)
                                    for t in targets for k in p.style_layers) / len(targets))
    metrics = json.loads((repo / "metrics/nst/metrics.json").read_text())["nst"]
    assert metrics["content_loss"] == pytest.approx(sum(content_losses) / len(names), rel=0.01)
    assert metrics["style_loss"] == pytest.approx(sum(style_losses) / len(names), rel=0.01)
    last = (repo / "metrics/nst/curves/style_loss.tsv").read_text().splitlines()[-1].split("\t")
    assert float(last[-1]) == pytest.approx(metrics["style_loss"], rel=1e-4) and int(last[0]) == p.steps
