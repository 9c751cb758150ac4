"""Gateway client against a real loopback gateway: verification, retries, failover, limits."""

import hashlib
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from ipfs_server import LoopbackGateway

from apeart.ipfs.cid import CHUNK_SIZE, cid_v0
from apeart.core.cli import mask
from apeart.ipfs.fetch import FetchError, Wanted, fetch_images
from apeart.ipfs.gateway import GatewayClient, GatewayError, _retry_after
from apeart.ipfs.urls import AUTH_ENV, AuthError, normalize_gateway

# Short enough that the stall faults stay quick, long enough that a loaded machine answers in time (an
# unplanned retry would break the exact request counts).
FAST = {"timeout_s": 1.0, "retries": 3, "backoff_s": 0.01}


def _payload(seed: int, size: int = 20_000) -> bytes:
    return random.Random(seed).randbytes(size)


@pytest.fixture
def gateway():
    with LoopbackGateway() as gw:
        yield gw


def test_plain_fetch_verifies_and_uses_one_request(gateway: LoopbackGateway) -> None:
    data = _payload(1)
    cid = gateway.add_file(data)
    assert GatewayClient([gateway.url], **FAST).fetch_file(cid) == data
    assert gateway.requests == 1


def test_trustless_fetch_walks_raw_blocks(gateway: LoopbackGateway) -> None:
    data = _payload(2, CHUNK_SIZE + 5)
    cid = gateway.add_file(data)
    client = GatewayClient([gateway.url + "/ipfs/"], trustless=True, **FAST)
    assert client.fetch_file(cid) == data
    assert gateway.requests == 3 and client.requests == 3  # root + two leaves


@pytest.mark.parametrize("fault", ["500", "503", "stall", "truncated", "html", "wrong", "slow:2", "404"])
@pytest.mark.parametrize("trustless", [False, True])
def test_a_fault_is_retried_then_the_right_bytes_win(gateway: LoopbackGateway, fault: str, trustless: bool) -> None:
    data = _payload(3)
    cid = gateway.add_file(data)
    gateway.fault(cid, fault)
    backup = LoopbackGateway()
    backup.add_file(data)
    with backup:
        client = GatewayClient([gateway.url, backup.url], trustless=trustless, **FAST)
        assert client.fetch_file(cid) == data
    assert (gateway.requests, backup.requests) == (1, 1)  # failed over at once, no second try needed


def test_same_gateway_is_retried_with_backoff(gateway: LoopbackGateway) -> None:
    data = _payload(4)
    cid = gateway.add_file(data)
    gateway.fault(cid, "500", "wrong", "truncated")
    assert GatewayClient([gateway.url], **FAST).fetch_file(cid) == data
    assert gateway.requests == 4


def test_slow_but_steady_response_is_not_a_stall(gateway: LoopbackGateway) -> None:
    data = _payload(5)
    cid = gateway.add_file(data)
    gateway.fault(cid, "slow:0.15")
    assert GatewayClient([gateway.url], **FAST).fetch_file(cid) == data
    assert gateway.requests == 1


def test_retries_exhausted_reports_last_reason(gateway: LoopbackGateway) -> None:
    cid = gateway.add_file(_payload(6))
    gateway.fault(cid, "500", "500", "500", "wrong")
    with pytest.raises(GatewayError) as info:
        GatewayClient([gateway.url], **FAST).fetch_file(cid)
    assert info.value.reason == "verify"
    assert gateway.requests == 4  # retries=3 -> four attempts


def test_retry_after_is_honoured_on_the_same_gateway(gateway: LoopbackGateway) -> None:
    data = _payload(7)
    cid = gateway.add_file(data)
    gateway.fault(cid, "429:1")
    start = time.monotonic()
    assert GatewayClient([gateway.url], **FAST).fetch_file(cid) == data
    assert time.monotonic() - start >= 1.0
    assert gateway.requests == 2


def test_retry_after_sends_traffic_to_the_next_gateway(gateway: LoopbackGateway) -> None:
    first, second = _payload(8), _payload(9)
    cids = [gateway.add_file(first), gateway.add_file(second)]
    gateway.fault(cids[0], "429:30")
    with LoopbackGateway() as backup:
        backup.add_file(first), backup.add_file(second)
        client = GatewayClient([gateway.url, backup.url], **FAST)
        start = time.monotonic()
        assert [client.fetch_file(cid) for cid in cids] == [first, second]
        assert time.monotonic() - start < 15  # did not sit out the 30 s Retry-After (a behaviour bound, not speed)
        assert gateway.requests == 1 and backup.requests == 2  # the cooling gateway got no second request


def test_retry_after_beyond_max_wait_fails_instead_of_sleeping(gateway: LoopbackGateway) -> None:
    cid = gateway.add_file(_payload(10))
    gateway.fault(cid, "429:3600")
    with pytest.raises(GatewayError) as info:
        GatewayClient([gateway.url], max_wait_s=1, **FAST).fetch_file(cid)
    assert info.value.reason == "http_429" and gateway.requests == 1


def test_not_found_is_not_retried_on_the_same_gateway(gateway: LoopbackGateway) -> None:
    with pytest.raises(GatewayError) as info:
        GatewayClient([gateway.url], **FAST).fetch_file("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o")
    assert info.value.reason == "http_404" and gateway.requests == 1


def test_redirect_loop_is_cut_off(gateway: LoopbackGateway) -> None:
    cid = gateway.add_file(_payload(11))
    gateway.fault(cid, *["redirect"] * 10)
    client = GatewayClient([gateway.url], max_redirects=3, **FAST)
    with pytest.raises(GatewayError) as info:
        client.fetch_file(cid)
    assert info.value.reason == "redirects" and gateway.requests == client.requests == 4


def test_redirect_hops_count_as_requests(gateway: LoopbackGateway) -> None:
    cid = gateway.add_file(_payload(13))
    gateway.fault(cid, "redirect", "redirect")
    client = GatewayClient([gateway.url], **FAST)
    assert client.fetch_file(cid) == _payload(13)
    assert gateway.requests == client.requests == 3


def test_body_over_max_bytes_is_refused(gateway: LoopbackGateway) -> None:
    cid = gateway.add_file(_payload(12))
    with pytest.raises(GatewayError) as info:
        GatewayClient([gateway.url], max_bytes=10_000, **FAST).fetch_file(cid)
    assert info.value.reason == "too_large" and gateway.requests == 1


def test_trickling_body_hits_the_total_deadline(gateway: LoopbackGateway) -> None:
    cid = gateway.add_file(_payload(13))
    gateway.fault(cid, "trickle:0.05")
    client = GatewayClient([gateway.url], deadline_s=0.4, timeout_s=0.3, retries=0)
    with pytest.raises(GatewayError) as info:
        client.fetch_file(cid)
    # Trickled in full the body would arrive (20 KiB at 1 KiB per 0.05 s); "deadline" means it was cut off.
    assert info.value.reason == "deadline"


def test_down_gateway_fails_over_for_every_item() -> None:
    data = [_payload(20 + i) for i in range(3)]
    with LoopbackGateway(always="500") as down, LoopbackGateway() as up:
        cids = [up.add_file(d) for d in data]
        client = GatewayClient([down.url, up.url], **FAST)
        assert [client.fetch_file(cid) for cid in cids] == data
        assert down.requests == 3 and up.requests == 3


def test_refused_connection_fails_over() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with LoopbackGateway() as up:
        cid = up.add_file(b"ape")
        with pytest.raises(GatewayError) as info:
            GatewayClient([closed], **FAST).fetch_file(cid)
        assert info.value.reason == "connection"
        assert GatewayClient([closed, up.url], **FAST).fetch_file(cid) == b"ape"


def test_requests_per_gateway_are_bounded() -> None:
    with LoopbackGateway(latency_s=0.05) as gw:
        cids = [gw.add_file(_payload(30 + i, 1000)) for i in range(12)]
        client = GatewayClient([gw.url], per_gateway=2, **FAST)
        threads = [threading.Thread(target=client.fetch_file, args=(cid,)) for cid in cids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert gw.requests == 12 and gw.max_inflight == 2


@pytest.mark.parametrize("url", ["ftp://example.com", "file:///etc", "example.com", "http://", "https://h/?q=1", "http://u:p@h"])
def test_only_http_gateways_are_accepted(url: str) -> None:
    with pytest.raises(ValueError):
        normalize_gateway(url)


def test_gateway_urls_are_normalised() -> None:
    assert normalize_gateway("https://ipfs.io/ipfs/") == "https://ipfs.io"
    assert normalize_gateway("http://127.0.0.1:8080") == "http://127.0.0.1:8080"


@pytest.mark.parametrize(("header", "expected"), [("2", 2.0), (None, None), ("soon", None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)])
def test_retry_after_header_forms(header: str | None, expected: float | None) -> None:
    assert _retry_after(header) == expected


# fetch_images: the driver over a manifest, cache and images folder.

FETCH = {"concurrency": 4, "per_gateway": 2, "timeout_s": 0.3, "retries": 3, "backoff_s": 0.01, "progress": False}


def _assert_all_verified(images: Path, rows: list[Wanted], temps_allowed: bool = False) -> None:
    """Every file in `images` is a verified image (with `temps_allowed`, a killed writer's hidden temp files
    are passed over: the next run removes them)."""
    by_id = {row.key: row for row in rows}
    files = sorted(p for p in images.iterdir() if not (temps_allowed and p.name.startswith(".")))
    assert all(path.suffix == ".png" and not path.name.startswith(".") for path in files)
    for path in files:
        row = by_id[path.stem]
        data = path.read_bytes()
        assert cid_v0(data) == row.cid
        assert row.sha256 is None or hashlib.sha256(data).hexdigest() == row.sha256


def test_fetch_images_end_to_end_then_rerun_asks_nothing(tmp_path: Path) -> None:
    payloads = [_payload(100 + i, 5000 + i) for i in range(12)]
    faults = ["500", "429:0", "stall", "truncated", "html", "wrong", "redirect", "slow:0.1", "404"]
    with LoopbackGateway() as first, LoopbackGateway() as second:
        cids = [first.add_file(p) for p in payloads[:11]]
        for p in payloads[:11]:
            second.add_file(p)
        for cid, fault in zip(cids, faults):
            first.fault(cid, fault)
        rows = [Wanted(str(i), cid, hashlib.sha256(payloads[i]).hexdigest() if i % 2 else None) for i, cid in enumerate(cids)]
        rows.append(Wanted(str(11), cid_v0(payloads[11])))  # on no gateway
        rows[10] = Wanted(str(10), cids[10], "0" * 64)  # the manifest's hash disagrees with the content
        metadata_failure = {"key": "12", "cid": "x/12", "reason": "metadata_http_404"}
        images, cache = tmp_path / "images", tmp_path / "cache"
        summary = fetch_images(rows, images, cache, [first.url, second.url], min_fraction=0.5, failures=[metadata_failure], **FETCH)
        assert (summary["requested"], summary["verified"], summary["failed"], summary["cached"]) == (13, 10, 3, 0)
        assert summary["failed_by_reason"] == {"http_404": 1, "metadata_http_404": 1, "sha256_mismatch": 1}
        assert [f["key"] for f in summary["failures"]] == ["10", "11", "12"]
        assert summary["bytes"] == sum(len(p) for p in payloads[:10])
        _assert_all_verified(images, rows)
        assert sorted(p.name for p in cache.iterdir()) == sorted(cids)

        good = rows[:10]
        before = (first.requests, second.requests)
        again = fetch_images(good, images, cache, [first.url, second.url], min_fraction=1.0, **FETCH)
        assert (again["verified"], again["cached"], again["requests"]) == (10, 10, 0)
        assert (first.requests, second.requests) == before


def test_too_few_verified_raises_after_writing_what_verified(tmp_path: Path) -> None:
    with LoopbackGateway() as gw:
        rows = [Wanted(str(0), gw.add_file(b"ape")), Wanted(str(1), cid_v0(b"missing"))]
        with pytest.raises(FetchError, match="only 1/2 images verified") as info:
            fetch_images(rows, tmp_path / "img", tmp_path / "cache", [gw.url], min_fraction=0.9, **FETCH)
        assert info.value.summary["failed_by_reason"] == {"http_404": 1}
        assert (tmp_path / "img" / "0.png").read_bytes() == b"ape"


def test_bad_cache_entry_and_damaged_image_are_repaired(tmp_path: Path) -> None:
    with LoopbackGateway() as gw:
        data = [_payload(200), _payload(201)]
        rows = [Wanted(str(i), gw.add_file(d)) for i, d in enumerate(data)]
        images, cache = tmp_path / "img", tmp_path / "cache"
        fetch_images(rows, images, cache, [gw.url], **FETCH)
        (cache / rows[0].cid).write_bytes(b"rotten")
        (images / "1.png").write_bytes(data[1][:100])
        summary = fetch_images(rows, images, cache, [gw.url], **FETCH)
        assert (summary["cached"], summary["requests"], gw.requests) == (1, 1, 3)
        assert [(images / f"{i}.png").read_bytes() for i in range(2)] == data
        assert (cache / rows[0].cid).read_bytes() == data[0]


@pytest.mark.processes
def test_killed_run_resumes_without_partial_files(tmp_path: Path) -> None:
    payloads = [_payload(300 + i, 20_000) for i in range(40)]
    images, cache, manifest = tmp_path / "img", tmp_path / "cache", tmp_path / "manifest.csv"
    with LoopbackGateway(latency_s=0.05) as gw:
        rows = [Wanted(str(i), gw.add_file(p)) for i, p in enumerate(payloads)]
        manifest.write_text("".join(f"{r.key},{r.cid}\n" for r in rows))
        script = (
            "import sys; from pathlib import Path; from apeart.ipfs.fetch import Wanted, fetch_images;"
            "rows = [Wanted(*line.split(',')) for line in Path(sys.argv[1]).read_text().split()];"
            "fetch_images(rows, Path(sys.argv[2]), Path(sys.argv[3]), [sys.argv[4]],"
            " concurrency=2, per_gateway=2, progress=False)"
        )
        child = subprocess.Popen([sys.executable, "-c", script, manifest, images, cache, gw.url])
        deadline = time.monotonic() + 20
        while len(list(images.glob("*.png"))) < 5 and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert child.returncode == -signal.SIGKILL
        _assert_all_verified(images, rows, temps_allowed=True)  # whatever got written under its name is whole
        done = len(list(cache.glob("Qm*")))
        (images / f".7.png.{child.pid}.tmp").write_bytes(payloads[7][:10])  # as a kill between write and rename leaves
        (cache / f".{rows[8].cid}.{child.pid}.tmp").write_bytes(payloads[8][:10])
        summary = fetch_images(rows, images, cache, [gw.url], min_fraction=1.0, **FETCH)
        assert summary["verified"] == 40 and summary["cached"] == done >= 5
        assert summary["requests"] == 40 - done
    _assert_all_verified(images, rows)
    assert len(list(images.iterdir())) == 40 and not list(cache.glob(".*"))


def test_gateway_credentials_come_from_the_environment_and_go_only_to_their_host(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A gateway behind basic auth: 401 without APEART_GATEWAY_AUTH, verified bytes with it; a gateway on
    another port never sees the header."""
    with LoopbackGateway(auth="alice:hunter2") as private, LoopbackGateway() as public:
        data, other = _payload(40, 1000), _payload(41, 1000)
        cid, other_cid = private.add_file(data), public.add_file(other)
        monkeypatch.delenv(AUTH_ENV, raising=False)
        with pytest.raises(GatewayError, match="http_401"):
            GatewayClient([private.url], **FAST).fetch_file(cid)
        monkeypatch.setenv(AUTH_ENV, f"example.org=bob:x {private.url.removeprefix('http://')}=alice:hunter2")
        client = GatewayClient([private.url, public.url], **FAST)
        assert client.fetch_file(cid) == data and client.fetch_file(other_cid) == other
        assert private.authorizations[-2:] == [private.auth] * 2 and set(public.authorizations) == {None}


@pytest.mark.parametrize("value", ["127.0.0.1 alice:hunter2", "127.0.0.1=alice", "=alice:hunter2",
                                   "http://127.0.0.1=alice:hunter2"])
def test_malformed_gateway_credentials_are_refused_without_repeating_them(
        monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(AUTH_ENV, value)
    with pytest.raises(AuthError, match=f"{AUTH_ENV}: entry 1 is not host") as info:
        GatewayClient(["http://127.0.0.1:9"])
    assert "hunter2" not in str(info.value) and "alice" not in str(info.value)


@pytest.mark.parametrize("text, masked", [
    ("gateway 'http://alice:hunter2@127.0.0.1:9/'", "gateway 'http://alice:***@127.0.0.1:9/'"),
    ("http://alice:p@ss@h/x and https://tok3n@h", "http://alice:***@h/x and https://***@h"),
    ("http://h:8080/ipfs/x@y stays", "http://h:8080/ipfs/x@y stays"),
])
def test_credentials_are_masked_in_messages(text: str, masked: str) -> None:
    assert mask(text) == masked
