"""End to end: the real `dvc repro` on tiny params in a copy of the repo, then a beta experiment."""
import csv
import hashlib
import json
from pathlib import Path

import pytest
from repo_copy import clone_built, ran, run, write_params
from ruamel.yaml import YAML

from apeart.params import load_params

pytestmark = pytest.mark.slow  # `pytest -m 'not slow'` is the fast inner loop


def test_repro_writes_every_output(built_repo: Path) -> None:
    repo = built_repo
    images = sorted((repo / "data/raw/images").glob("*.png"))
    assert len(images) == 12
    manifest = (repo / "data/raw/manifest.csv").read_text().splitlines()
    assert manifest[0].startswith("token_id,cid,sha256,bytes,background,fur") and len(manifest) == 13
    assert len(list((repo / "data/prepared/gan").glob("*.png"))) == 12
    assert len(list((repo / "data/prepared/content").glob("*.png"))) == 2
    assert (repo / "models/dcgan/generator.pt").is_file() and (repo / "models/dcgan/checkpoint.pt").is_file()
    for name in ("progress.gif", "progress_strip.png", "interpolation.png", "real_vs_fake.png"):
        assert (repo / "reports/gan" / name).stat().st_size > 0
    assert sorted(p.name for p in (repo / "reports/gan/progress").iterdir()) == [  # every figures.gan_grid_every
        "epoch_000.png", "epoch_005.png", "epoch_010.png"]
    assert len(list((repo / "data/styles/gan/batch_000").glob("*.png"))) == 2
    assert sorted(p.name for p in (repo / "reports/nst/results").iterdir()) == ["0.png", "1.png"]
    assert sorted(p.name for p in (repo / "reports/nst/snapshots").iterdir()) == [
        "step_00000.png", "step_00008.png", "step_00015.png"]
    gan = json.loads((repo / "metrics/gan/train.json").read_text())
    assert set(gan) == {"gan"} and set(gan["gan"]["train"]) == {"d_loss", "g_loss", "d_real", "d_fake", "cpu", "threads"}
    assert len((repo / "metrics/gan/curves/d_loss.tsv").read_text().splitlines()) == 61  # header, iterations 1-60
    nst = json.loads((repo / "metrics/nst/metrics.json").read_text())["nst"]
    assert nst["style_loss"] > 0 and set(nst) == {"content_loss", "style_loss", "tv_loss", "total_loss",
                                                    "loss_convention", "cpu", "threads"}
    assert nst["threads"] == 2 and nst["cpu"]  # the machine the bytes are bound to (docs/reproducibility.md)
    assert set(json.loads((repo / "reports/nst/losses.json").read_text())) == {"0", "1"}
    assert json.loads((repo / "metrics/texnet/train.json").read_text())["texnet"]["train"]["images"] == 4
    texnet = json.loads((repo / "metrics/texnet/held_out.json").read_text())["texnet"]
    assert texnet["loss_vs_gatys"] == pytest.approx(texnet["held_out"]["total_loss"]
                                                     / texnet["held_out"]["gatys_total_loss"], rel=1e-4)
    assert set(texnet["held_out"]) == {f"{who}{t}_loss" for who in ("", "gatys_") for t in ("content", "style", "total")}
    assert not (repo / "metrics/perf").exists()  # timings are printed, never saved
    for name in ("comparison.png", "contact_sheet.png", "noise_scales.png"):
        assert (repo / "reports/texnet" / name).stat().st_size > 0
    assert sorted(p.name for p in (repo / "reports/texnet/gatys").iterdir()) == ["0.png", "1.png"]  # the held-out pair
    html = (repo / "reports/index.html").read_text()
    assert html.count("data:image/png;base64,") >= 8 and 'src="http' not in html and "<script" not in html


def test_the_one_image_plot_is_the_nst_rows_and_curves_are_per_file(built_repo: Path, tmp_path: Path) -> None:
    repo = clone_built(built_repo, tmp_path / "apeart")  # DVC locks the repo it runs in: never the shared one
    assert "up to date" in run(["dvc", "status"], repo).lower()
    plots = json.loads(run(["dvc", "plots", "show", "--json"], repo, stdout_only=True))["data"]
    images = [path for path, entries in plots.items() if entries and entries[0]["type"] == "image"]
    assert images == ["reports/figures/nst_rows.png"]
    assert {"NST total loss", "GAN generator loss", "Texture network style loss"} <= set(plots)


def test_beta_experiment_reruns_only_what_depends_on_it(beta_experiment: tuple[Path, str], tmp_path: Path) -> None:
    shared, output = beta_experiment  # `dvc exp run -S nst.beta=1e-5`
    repo = clone_built(shared, tmp_path / "apeart")
    assert ran(output) == {"check_params", "stylize", "report"}
    assert "beta: 1e-05" in (repo / "params.yaml").read_text()
    assert load_params(repo / "params.yaml").nst.beta == 1e-05
    diff = json.loads(run(["dvc", "metrics", "diff", "--json"], repo, stdout_only=True))
    assert "nst.style_loss" in diff["metrics/nst/metrics.json"] and set(diff) == {"metrics/nst/metrics.json"}


def test_the_stylised_collection_is_traced_to_its_inputs(built_repo: Path) -> None:
    """lineage.csv: one row per stylised file, whose sha256 it gives, back to the manifest's CID and the model."""
    repo = built_repo
    rows = list(csv.DictReader((repo / "data/stylized/lineage.csv").open()))
    files = sorted(p.stem for p in (repo / "data/stylized").glob("*.png"))
    assert sorted(r["token_id"] for r in rows) == files and len(files) == 12
    cids = {r["token_id"]: r["cid"] for r in csv.DictReader((repo / "data/raw/manifest.csv").open())}
    model = hashlib.md5((repo / "models/texnet/texnet.pt").read_bytes()).hexdigest()
    for row in rows:
        png = (repo / "data/stylized" / f"{row['token_id']}.png").read_bytes()
        assert row["output_sha256"] == hashlib.sha256(png).hexdigest()
        assert row["source_cid"] == cids[row["token_id"]] and row["model_md5"] == model
        assert row["style"].startswith("gan dcgan batch_000 sha256=")


def test_the_gatys_collection_is_traced_and_its_bytes_do_not_depend_on_the_process_count(
        built_repo: Path, tmp_path: Path) -> None:
    """experiments' stylize_collection_gatys ran with one process per core (2 in CI); one process rewrites the
    same files, and lineage.csv traces each to the manifest's CID and the run's key."""
    repo = clone_built(built_repo, tmp_path / "apeart")
    out = repo / "experiments/gatys_collection"
    rows = list(csv.DictReader((out / "lineage.csv").open()))
    cids = {r["token_id"]: r["cid"] for r in csv.DictReader((repo / "data/raw/manifest.csv").open())}
    assert sorted(r["token_id"] for r in rows) == sorted(p.stem for p in out.glob("*.png"))
    assert len(rows) == 4  # repo_copy.TINY's nst.collection_images
    assert len({r["model_md5"] for r in rows}) == 1 and all(r["source_cid"] == cids[r["token_id"]] for r in rows)
    before = {p.name: p.read_bytes() for p in out.glob("*.png")}
    assert all(r["output_sha256"] == hashlib.sha256(before[f"{r['token_id']}.png"]).hexdigest() for r in rows)
    output = run(["dvc", "repro", "-f", "-s", "experiments/dvc.yaml:stylize_collection_gatys"], repo, APEART_NPROC="1")
    assert "4 images (4 this run) on 1 processes" in output, output
    assert {p.name: p.read_bytes() for p in out.glob("*.png")} == before


def rerun_by(repo: Path, key: str, value: object) -> set[str]:
    """The default pipeline's stages `dvc exp run -S key=value` can re-run, from DVC's own `dvc status`: those
    whose deps changed, then, each of those outs given new bytes, the stages downstream, until no stage is added
    (an upper bound: a stage whose outs come out the same stops DVC there). check_params writes the same bytes
    for any valid params."""
    write_params(repo, {key: value})
    stages = YAML(typ="safe").load(repo / "dvc.yaml")["stages"]
    stale: set[str] = set()
    while new := set(json.loads(run(["dvc", "status", "--json", "dvc.yaml"], repo, stdout_only=True))) - stale:
        stale |= new
        for stage in new - {"check_params"}:
            for entry in (e for kind in ("outs", "metrics", "plots") for e in stages[stage].get(kind, [])):
                path = repo / (entry if isinstance(entry, str) else next(iter(entry)))
                files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
                assert files, f"{stage}: no file at its out {path}"
                for file in files:
                    file.write_bytes(file.read_bytes() + b"\n")
    return stale


def test_a_texnet_experiment_reruns_only_the_texture_network_and_report(built_repo: Path, tmp_path: Path) -> None:
    repo = clone_built(built_repo, tmp_path / "apeart")
    assert rerun_by(repo, "texnet.lr", 0.02) == {"check_params", "train_texnet", "stylize_collection", "compare_texnet",
                                                 "texnet_figures", "report"}
