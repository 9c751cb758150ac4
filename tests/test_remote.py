"""Sharing a run through a DVC remote: the committed default `shared` (a folder beside the repo) and S3.

One tiny run is pushed with its run cache; fresh `git clone`s then get it with `dvc pull` or
`dvc repro --pull` and have nothing left to run. S3 is a moto server on 127.0.0.1 with credentials
only in .dvc/config.local. An unreachable remote fails fast, says so, and changes nothing locally.
"""
from __future__ import annotations

import hashlib
import logging
import shutil
import socket
import time
from pathlib import Path

import pytest
from repo_copy import attempt, clone_built, commit, ran, run, tree_digest

pytestmark = pytest.mark.slow  # `pytest -m 'not slow'` is the fast inner loop

BUCKET = "apeart-test"
KEY, SECRET = "apeart-test-key", "apeart-test-secret"


def du(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def outputs_and_cache(repo: Path) -> dict[str, str]:
    """Digest of the DVC cache and every stage output in the workspace."""
    digest = {}
    for name in (".dvc/cache", "data", "models", "reports", "metrics"):
        digest.update({f"{name}/{k}": v for k, v in tree_digest(repo / name).items()})
    return digest


def closed_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pushed(built_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the tiny run pushed (with its run cache) to the default remote `shared`.

    `shared`'s URL is relative (../../apeart-dvc-storage from .dvc/), so this copy's storage is the
    folder `apeart-dvc-storage` beside it, and so is that of any clone made in the same folder.
    """
    base = tmp_path_factory.mktemp("remote")
    repo = clone_built(built_repo, base / "apeart")
    start = time.perf_counter()
    out = run(["dvc", "push", "--run-cache"], repo)
    storage = base / "apeart-dvc-storage"
    print(f"push --run-cache: {time.perf_counter() - start:.1f}s, {du(storage) / 1e6:.2f} MB in {storage}: "
          f"{out.strip().splitlines()[-1]}")
    assert (storage / "files/md5").is_dir() and (storage / "runs").is_dir()
    return repo


def test_fresh_clone_pull_is_clean_and_runs_nothing(pushed: Path) -> None:
    clone = pushed.parent / "clone"
    run(["git", "clone", "-q", str(pushed), str(clone)], pushed.parent)
    assert not (clone / "data/raw").exists()
    start = time.perf_counter()
    run(["dvc", "pull"], clone)
    print(f"pull into a fresh clone: {time.perf_counter() - start:.1f}s")
    assert "up to date" in run(["dvc", "status"], clone).lower()
    assert tree_digest(clone / "reports") == tree_digest(pushed / "reports")
    assert (clone / "models/dcgan/generator.pt").read_bytes() == (pushed / "models/dcgan/generator.pt").read_bytes()
    output = run(["dvc", "repro"], clone)
    assert ran(output) == set(), output
    assert run(["git", "status", "--porcelain"], clone, stdout_only=True) == ""


def test_repro_pull_in_a_fresh_clone_runs_no_stage(pushed: Path) -> None:
    clone = pushed.parent / "clone-repro-pull"
    run(["git", "clone", "-q", str(pushed), str(clone)], pushed.parent)
    output = run(["dvc", "repro", "--pull"], clone)
    assert ran(output) == set(), output
    assert "up to date" in run(["dvc", "status", "dvc.yaml"], clone).lower()  # what `dvc repro` covers
    output = run(["dvc", "repro", "--pull", "experiments/dvc.yaml"], clone)  # the opt-in pipeline, same way
    assert ran(output) == set(), output
    assert "up to date" in run(["dvc", "status"], clone).lower()
    assert (clone / "reports/index.html").read_bytes() == (pushed / "reports/index.html").read_bytes()


@pytest.fixture(scope="module")
def s3_endpoint() -> str:
    """A moto S3 server on 127.0.0.1 (a free port) with an empty bucket."""
    import boto3
    from moto import server as moto_server
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log on stderr
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                 region_name="us-east-1").create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


@pytest.fixture
def aws_env(tmp_path: Path) -> dict[str, str | None]:
    """No AWS profile, credentials file or instance metadata from the machine: only .dvc/config.local."""
    empty = tmp_path / "aws-empty"
    empty.write_text("")
    return {"AWS_CONFIG_FILE": str(empty), "AWS_SHARED_CREDENTIALS_FILE": str(empty),
            "AWS_EC2_METADATA_DISABLED": "true", "AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None,
            "AWS_SESSION_TOKEN": None, "AWS_PROFILE": None, "AWS_DEFAULT_PROFILE": None}


def configure_s3(repo: Path, name: str, endpoint: str, **local: str) -> None:
    """Credentials and endpoint only in .dvc/config.local (git-ignored); the remote URL may be committed."""
    settings = {"endpointurl": endpoint, "access_key_id": KEY, "secret_access_key": SECRET,
                "region": "us-east-1", **local}
    for option, value in settings.items():
        run(["dvc", "remote", "modify", "--local", name, option, value], repo)


def test_s3_push_then_pull_into_a_fresh_clone(pushed: Path, s3_endpoint: str, aws_env: dict[str, str | None]) -> None:
    repo = clone_built(pushed, pushed.parent / "s3-origin")
    run(["dvc", "remote", "add", "s3", f"s3://{BUCKET}/cache"], repo)
    commit(repo, "S3 remote")
    configure_s3(repo, "s3", s3_endpoint)
    assert KEY not in (repo / ".dvc/config").read_text() and KEY in (repo / ".dvc/config.local").read_text()
    assert run(["git", "status", "--porcelain"], repo, stdout_only=True) == ""  # config.local is ignored
    start = time.perf_counter()
    run(["dvc", "push", "-r", "s3", "--run-cache"], repo, **aws_env)
    print(f"S3 push: {time.perf_counter() - start:.1f}s")

    clone = pushed.parent / "s3-clone"
    run(["git", "clone", "-q", str(repo), str(clone)], pushed.parent)
    assert not (clone / ".dvc/config.local").exists()
    configure_s3(clone, "s3", s3_endpoint)
    run(["dvc", "pull", "-r", "s3"], clone, **aws_env)
    assert "up to date" in run(["dvc", "status"], clone).lower()
    assert tree_digest(clone / "data") == tree_digest(repo / "data")
    assert ran(run(["dvc", "repro"], clone)) == set()


def test_unreachable_remote_fails_fast_and_changes_nothing(pushed: Path, aws_env: dict[str, str | None]) -> None:
    repo = clone_built(pushed, pushed.parent / "dead-remote")
    run(["dvc", "remote", "add", "dead", f"s3://{BUCKET}/cache"], repo)
    port = closed_port()
    configure_s3(repo, "dead", f"http://127.0.0.1:{port}", connect_timeout="2", read_timeout="2")
    fast = {**aws_env, "AWS_MAX_ATTEMPTS": "2", "AWS_RETRY_MODE": "standard"}
    before = outputs_and_cache(repo)
    for cmd in (["dvc", "push", "-r", "dead"], ["dvc", "pull", "-r", "dead"], ["dvc", "fetch", "-r", "dead"]):
        start = time.perf_counter()
        code, out = attempt(cmd, repo, timeout=120, **fast)
        seconds = time.perf_counter() - start
        print(f"{' '.join(cmd)}: exit {code} after {seconds:.1f}s")
        assert code != 0 and "ERROR" in out and f"127.0.0.1:{port}" in out and "connect" in out.lower(), out
        assert seconds < 60, f"{' '.join(cmd)} took {seconds:.0f}s to give up"
        assert outputs_and_cache(repo) == before, f"{' '.join(cmd)} changed the cache or workspace"


def test_clone_of_a_clone_without_storage_says_what_is_missing(pushed: Path, tmp_path: Path) -> None:
    """A clone with no storage folder beside it: `dvc pull` fails (exit != 0) and says what failed."""
    clone = tmp_path / "away" / "elsewhere"  # `shared` -> tmp_path/away/apeart-dvc-storage: absent
    run(["git", "clone", "-q", str(pushed), str(clone)], tmp_path)
    code, out = attempt(["dvc", "pull"], clone)
    assert code != 0 and "ERROR" in out and "failed" in out, out
    assert not (clone / "models/dcgan/generator.pt").exists()
    shutil.rmtree(clone)



CORRUPTED = ("data/stylized/0.png", "models/texnet/texnet.pt")  # a file of a folder out, and a file out
TARGETS = ("train_gan", "train_texnet", "stylize_collection")  # the stages writing them and the DCGAN's generator


def flipped(data: bytes) -> bytes:
    """`data` with one bit of byte 100 flipped."""
    return data[:100] + bytes([data[100] ^ 1]) + data[101:]


def assert_corrupted_pull_is_refused(clone: Path, remote: tuple[str, ...] = (), targets: tuple[str, ...] = (),
                                     **env: str | None) -> None:
    """`dvc pull` (from `remote`, of `targets`) fails naming the outs whose objects do not hash to their md5, checks
    none of them out, and `dvc status` says they are not in the cache."""
    code, out = attempt(["dvc", "pull", *remote, *targets], clone, **env)
    assert code != 0 and "Checkout failed" in out and all(Path(p).parent.as_posix() in out for p in CORRUPTED), out
    assert not any((clone / p).exists() for p in CORRUPTED)
    assert "not in cache" in run(["dvc", "status", *targets], clone)
    assert (clone / "models/dcgan/generator.pt").is_file()  # what verified is checked out


def test_a_corrupted_object_in_the_shared_remote_is_refused(pushed: Path, tmp_path: Path) -> None:
    """`shared` has `verify = true` (.dvc/config): a pull hashes what it downloads."""
    repo = clone_built(pushed, tmp_path / "apeart")
    shutil.copytree(pushed.parent / "apeart-dvc-storage", tmp_path / "apeart-dvc-storage")  # what `pushed` pushed
    for name in CORRUPTED:
        md5 = hashlib.md5((repo / name).read_bytes()).hexdigest()
        obj = tmp_path / "apeart-dvc-storage/files/md5" / md5[:2] / md5[2:]
        obj.chmod(0o644)
        obj.write_bytes(flipped(obj.read_bytes()))
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(repo), str(clone)], tmp_path)
    assert_corrupted_pull_is_refused(clone)


def test_a_corrupted_object_in_s3_is_refused(pushed: Path, s3_endpoint: str, aws_env: dict[str, str | None]) -> None:
    import boto3
    repo = clone_built(pushed, pushed.parent / "s3-corrupt")
    run(["dvc", "remote", "add", "s3c", f"s3://{BUCKET}/corrupt"], repo)
    run(["dvc", "remote", "modify", "s3c", "verify", "true"], repo)
    commit(repo, "S3 remote, verified")
    configure_s3(repo, "s3c", s3_endpoint)
    run(["dvc", "push", "-r", "s3c", *TARGETS], repo, **aws_env)  # the whole cache went to S3 in the test above
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                      region_name="us-east-1")
    for name in CORRUPTED:
        md5 = hashlib.md5((repo / name).read_bytes()).hexdigest()
        key = f"corrupt/files/md5/{md5[:2]}/{md5[2:]}"
        body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        s3.put_object(Bucket=BUCKET, Key=key, Body=flipped(body))
    clone = pushed.parent / "s3-corrupt-clone"
    run(["git", "clone", "-q", str(repo), str(clone)], pushed.parent)
    configure_s3(clone, "s3c", s3_endpoint)
    assert_corrupted_pull_is_refused(clone, ("-r", "s3c"), TARGETS, **aws_env)
