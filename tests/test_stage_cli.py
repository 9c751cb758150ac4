"""Stages as DVC runs them (`python -m apeart stages/<name>.py` in the repo folder): a known fault is one line
on stderr and exit status 1, no traceback; fetch writes what failed even when too few images verify."""
from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import defaults
import pytest
from ipfs_server import LoopbackGateway
from PIL import Image

from apeart.core.config import ParamsError
from apeart.core.distributed import relaunch_under_torchrun

ROOT = Path(__file__).resolve().parents[1]
# A stage validates the sections it loads (check_params, first under DVC, validates them all): a float key of one.
# The torch stages: one for each way a stage reads params.yaml (load_section, load_sections, load_params).
STAGES = {"fetch": ("data", "timeout_s"), "prepare": ("nst", "beta"), "train_gan": ("gan", "lr"),
          "sample_styles": ("gan", "lr"), "report": ("texnet", "lr")}
LIGHT = ("fetch", "prepare")  # no torch import: their process takes well under a second; the others are end to end


def run_stage(name: str, folder: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "apeart", str(ROOT / "stages" / f"{name}.py")], cwd=folder,
                          capture_output=True, text=True, timeout=300, env={**os.environ, **env})


def one_line(out: subprocess.CompletedProcess) -> str:
    lines = [line for line in out.stderr.splitlines() if line.strip() and "%|" not in line]
    assert out.returncode == 1 and "Traceback" not in out.stderr and len(lines) == 1, out.stderr
    return lines[0]


@pytest.mark.parametrize("name", [n if n in LIGHT else pytest.param(n, marks=pytest.mark.slow) for n in STAGES])
def test_bad_params_are_one_line(name: str, tmp_path: Path) -> None:
    section, key = STAGES[name]
    defaults.write(tmp_path / "params.yaml", {section: {key: float("nan")}})
    assert one_line(run_stage(name, tmp_path)) == f"{name}: {section}.{key}: nan is not a finite number"


def test_a_params_file_that_is_not_yaml_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text("gan: [\n")
    assert one_line(run_stage("prepare", tmp_path)) == (
        "prepare: params.yaml: not valid YAML, line 2: expected the node content, but found '<stream end>'")


@pytest.mark.slow  # a torch stage's process
def test_missing_inputs_and_backbone_weights_are_one_line(tmp_path: Path) -> None:
    defaults.write(tmp_path / "params.yaml", {"nst": {"backbone": "vgg19", "style_source": "images",
                                                      "style_dir": "styles"}})
    assert one_line(run_stage("stylize", tmp_path)) == (
        "stylize: no content images in data/prepared/content; run the prepare stage first")
    for folder in ("data/prepared/content", "styles"):
        (tmp_path / folder).mkdir(parents=True)
        Image.new("RGB", (128, 128), "teal").save(tmp_path / folder / "0.png")
    line = one_line(run_stage("stylize", tmp_path, TORCH_HOME=str(tmp_path / "torch")))
    assert line.startswith("stylize: nst.backbone: vgg19 weights are not in the torch cache"), line


def test_bad_manifest_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("token_id,cid\n1,not-a-cid\n")
    defaults.write(tmp_path / "params.yaml", {"data": {"source": "ipfs", "manifest": "csv", "manifest_path": "bad.csv"}})
    assert one_line(run_stage("fetch", tmp_path)) == "fetch: bad.csv:2: invalid CID 'not-a-cid'"


def test_too_few_verified_still_writes_failures(tmp_path: Path) -> None:
    """min_fraction fails: one line, exit 1, and data/raw/failures.json lists what failed and why."""
    cids = ["QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o", "QmRRPWG96cmgTn2qSzjwr2qvfNEuhunv6FNeMFGa9bx6mQ"]
    (tmp_path / "m.csv").write_text("token_id,cid\n" + "".join(f"{i},{c}\n" for i, c in enumerate(cids)))
    with LoopbackGateway() as gw:
        defaults.write(tmp_path / "params.yaml", {"data": {"source": "ipfs", "manifest": "csv", "manifest_path": "m.csv",
                                                           "gateways": [gw.url], "retries": 0}})
        line = one_line(run_stage("fetch", tmp_path))
    assert line.startswith("fetch: only 0/2 images verified (min_fraction 0.95)")
    failures = json.loads((tmp_path / "data/raw/failures.json").read_text())
    assert [(f["token_id"], f["reason"]) for f in failures] == [(0, "http_404"), (1, "http_404")]
    metrics = json.loads((tmp_path / "metrics/fetch.json").read_text())["fetch"]
    assert metrics["failed"] == 2 and "failures" not in metrics and "requests" not in metrics


@pytest.mark.parametrize("manifest, min_fraction, expected", [
    ("token_id,cid\n", 0.95, "fetch: the manifest selects no images: 0 verified is a failed fetch"),
    ("token_id,cid\n0,QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o\n", 0.0, "fetch: only 0/1 images verified"),
])
def test_zero_verified_images_is_a_failed_fetch(tmp_path: Path, manifest: str, min_fraction: float,
                                                expected: str) -> None:
    """A header-only manifest, or min_fraction 0 with every image failing: exit 1, not "0 images"."""
    (tmp_path / "m.csv").write_text(manifest)
    with LoopbackGateway() as gw:
        defaults.write(tmp_path / "params.yaml", {"data": {"source": "ipfs", "manifest": "csv", "manifest_path": "m.csv",
                                                           "gateways": [gw.url], "retries": 0,
                                                           "min_fraction": min_fraction}})
        assert one_line(run_stage("fetch", tmp_path)).startswith(expected)
    assert json.loads((tmp_path / "metrics/fetch.json").read_text())["fetch"]["verified"] == 0


def test_a_gateway_password_is_never_repeated_and_the_refusal_says_where_it_goes(tmp_path: Path) -> None:
    """`-S 'data.gateways=["http://alice:hunter2@127.0.0.1:9/"]'` is refused without the password; so is a
    malformed APEART_GATEWAY_AUTH."""
    defaults.write(tmp_path / "params.yaml", {"data": {"source": "ipfs", "gateways": ["http://alice:hunter2@127.0.0.1:9/"]}})
    line = one_line(run_stage("fetch", tmp_path))
    assert "hunter2" not in line and "'http://alice:***@127.0.0.1:9/'" in line and "APEART_GATEWAY_AUTH=" in line, line
    (tmp_path / "m.csv").write_text("token_id,cid\n0,QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o\n")
    defaults.write(tmp_path / "params.yaml", {"data": {"source": "ipfs", "manifest": "csv", "manifest_path": "m.csv",
                                                       "gateways": ["http://127.0.0.1:9"]}})
    line = one_line(run_stage("fetch", tmp_path, APEART_GATEWAY_AUTH="127.0.0.1:9=alice"))
    assert line == "fetch: APEART_GATEWAY_AUTH: entry 1 is not host[:port]=user:password"


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))  # a larger write fails with EFBIG


@contextlib.contextmanager
def tmpfs(folder: Path, options: str) -> Iterator[None]:
    """A small tmpfs on `folder` (root only): `size=64k` fills up (ENOSPC), `ro` refuses writes (EROFS)."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], check=True)
    try:
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def _demo_fetch(folder: Path, **popen: object) -> subprocess.CompletedProcess:
    defaults.write(folder / "params.yaml", {"data": {"source": "demo", "limit": 4}})  # 2 a worker: the pool path
    return subprocess.run([sys.executable, "-m", "apeart", str(ROOT / "stages/fetch.py")], cwd=folder,
                          capture_output=True, text=True, timeout=300, **popen)


def test_a_file_too_large_is_one_line_naming_the_path_and_what_was_there_stays(tmp_path: Path) -> None:
    images = tmp_path / "data/raw/images"
    images.mkdir(parents=True)
    (images / "0.png").write_bytes(b"published before")
    line = one_line(_demo_fetch(tmp_path, preexec_fn=_limit_file_size))
    assert re.fullmatch(r"fetch: data/raw/images/\d+\.png: cannot write \(File too large\)", line), line
    assert (images / "0.png").read_bytes() == b"published before"  # every demo image is ~100 KB
    assert not list(images.glob(".*.tmp"))


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
@pytest.mark.parametrize("options, cause", [("size=64k", "No space left on device"),
                                            ("ro,size=64k", "Read-only file system")])
def test_a_full_or_read_only_disk_is_one_line_naming_the_path(tmp_path: Path, options: str, cause: str) -> None:
    with tmpfs(tmp_path / "data/raw/images", options):
        line = one_line(_demo_fetch(tmp_path))
    assert re.fullmatch(rf"fetch: data/raw/images/(\d+\.png: cannot write \({cause}\)|\.\d+\.png\.\w+\.tmp: {cause})",
                        line), line


@pytest.mark.parametrize("nproc", ["abc", "2.5", "0", ""])
def test_a_bad_process_count_is_refused(nproc: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APEART_NPROC", nproc)
    with pytest.raises(ParamsError, match=re.escape(f"APEART_NPROC: {nproc!r} is not a whole number of processes >= 1")):
        relaunch_under_torchrun("stages/stylize_collection.py")


@pytest.mark.slow  # a torch stage's process
def test_a_bad_process_count_is_one_line(tmp_path: Path) -> None:
    defaults.write(tmp_path / "params.yaml", {})
    assert one_line(run_stage("stylize_collection", tmp_path, APEART_NPROC="2.5")) == (
        "stylize_collection: APEART_NPROC: '2.5' is not a whole number of processes >= 1")


@pytest.mark.slow  # a torch stage's process
def test_a_one_image_collection_is_one_line_from_train_vaegan(tmp_path: Path) -> None:
    """data.limit=1: the latent walks had no pair of apes and torch.cat got an empty list."""
    defaults.write(tmp_path / "params.yaml", {"vaegan": {"processes": 1, "batch_size": 4}})
    (tmp_path / "data/prepared/gan").mkdir(parents=True)
    Image.new("RGB", (64, 64), "teal").save(tmp_path / "data/prepared/gan/0.png")
    assert one_line(run_stage("train_vaegan", tmp_path)) == (
        "train_vaegan: data/prepared/gan holds 1 image; the VAE-GAN needs at least 2 (data.limit)")


@pytest.mark.slow  # a stage process that imports torch: end to end
@pytest.mark.parametrize(("name", "model"), [("gan_figures", "dcgan"), ("vaegan_figures", "vaegan")])
def test_a_figure_stage_before_its_training_is_one_line(name: str, model: str, tmp_path: Path) -> None:
    defaults.write(tmp_path / "params.yaml", {})
    assert one_line(run_stage(name, tmp_path)) == (
        f"{name}: models/{model}/generator.pt: no such file; run train_{model.replace('dcgan', 'gan')} (dvc repro) "
        "to write it again")


@pytest.mark.processes
def test_failing_ranks_under_torchrun_print_their_line_not_torchruns_tracebacks(tmp_path: Path) -> None:
    """Both ranks fail alike: their line once; torchrun's log line and two ChildFailedError tracebacks are gone, and
    torchrun's logs and the ranks' lines leave nothing in $TMPDIR (torch's default: a torchelastic_* folder per run)."""
    defaults.write(tmp_path / "params.yaml", {})
    (tmp_path / "stages").symlink_to(ROOT / "stages")  # torchrun starts the script by its path from the root
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    out = run_stage("stylize_collection", tmp_path, APEART_NPROC="2", TMPDIR=str(temporary))
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert out.returncode == 1 and "Traceback" not in out.stderr and "ChildFailedError" not in out.stderr, out.stderr
    assert len(lines) == 1 and lines[0].startswith("stylize_collection: "), out.stderr
    assert list(temporary.iterdir()) == []
