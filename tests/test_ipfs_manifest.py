"""Manifest sources (provenance CSV, token metadata, plain CSV), validation and selection."""

import csv
import json
import os
import shutil
import time
from pathlib import Path

import pytest
from ipfs_server import LoopbackGateway

from apeart.collection.sources import (
    ManifestError,
    ManifestRow,
    fetch_metadata_rows,
    parse_selection,
    parse_token_id,
    parse_token_metadata,
    read_plain_csv,
    read_provenance_csv,
    select_rows,
    select_token_ids,
)
from apeart.collection.bayc import fetch_bayc
from apeart.collection.manifest import read_manifest, write_manifest
import defaults
from apeart.collection.params import DataParams
from apeart.ipfs.cid import Directory, parse_cid
from apeart.ipfs.fetch import FetchError
from apeart.ipfs.gateway import GatewayClient

PROVENANCE = Path(__file__).resolve().parents[1] / "data" / "manifests" / "bayc_provenance_head.csv"  # shipped
HEADER = "INITIAL SEQUENCE INDEX,ASSIGNED BAYC TOKEN ID,SHA-256 HASH,IPFS HASH\n"
SHA = "c92b0386542d8beb8fb167aed611e73c5f30250a083f54edf78653946a8a6913"
CID = "QmdUXVtRxKhdVhjPXCUxZGyXNHn5e2oS6pt8enPXo7X4Hk"
TOKEN0 = {
    "image": "ipfs://QmRRPWG96cmgTn2qSzjwr2qvfNEuhunv6FNeMFGa9bx6mQ",
    "attributes": [
        {"trait_type": "Earring", "value": "Silver Hoop"},
        {"trait_type": "Background", "value": "Orange"},
        {"trait_type": "Fur", "value": "Robot"},
        {"trait_type": "Clothes", "value": "Striped Tee"},
        {"trait_type": "Mouth", "value": "Discomfort"},
        {"trait_type": "Eyes", "value": "X Eyes"},
    ],
}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "manifest.csv"
    path.write_text(text)
    return path


def test_reads_the_real_provenance_head() -> None:
    rows = read_provenance_csv(PROVENANCE)
    assert [row.token_id for row in rows] == list(range(1147, 1147 + len(rows)))
    assert rows[0] == ManifestRow(1147, CID, SHA, {})
    assert all(row.cid.startswith("Qm") and len(row.sha256) == 64 for row in rows)


@pytest.mark.parametrize(
    ("line", "match"),
    [
        (f"0,1147,{SHA},../../etc/passwd", "invalid CID"),
        (f"0,1147,{SHA},{CID}/0", "invalid CID"),
        (f"0,10000,{SHA},{CID}", "token id"),
        (f"0,-1,{SHA},{CID}", "token id"),
        (f"0,01,{SHA},{CID}", "token id"),
        (f"0,1147,{SHA[:-1]},{CID}", "SHA-256"),
        (f"0,1147,{SHA}", "fields"),
    ],
)
def test_provenance_rejects_bad_lines_with_their_line_number(tmp_path: Path, line: str, match: str) -> None:
    with pytest.raises(ManifestError, match=match) as info:
        read_provenance_csv(_write(tmp_path, HEADER + line + "\n"))
    assert ":2:" in str(info.value)


def test_provenance_requires_the_exact_header(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="header"):
        read_provenance_csv(_write(tmp_path, HEADER.lower() + f"0,1147,{SHA},{CID}\n"))


def test_repeated_token_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="twice"):
        read_provenance_csv(_write(tmp_path, HEADER + f"0,5,{SHA},{CID}\n1,5,{SHA},{CID}\n"))


def test_plain_csv_with_and_without_sha(tmp_path: Path) -> None:
    rows = read_plain_csv(_write(tmp_path, f"token_id,cid,sha256\n9,{CID},\n3,{CID},{SHA.upper()}\n"))
    assert rows == [ManifestRow(3, CID, SHA), ManifestRow(9, CID, None)]
    assert read_plain_csv(_write(tmp_path, f"token_id,cid\n4,{CID}\n")) == [ManifestRow(4, CID)]


def test_token_metadata_gives_image_cid_and_traits() -> None:
    row = parse_token_metadata(0, json.dumps(TOKEN0).encode())
    assert row.cid == "QmRRPWG96cmgTn2qSzjwr2qvfNEuhunv6FNeMFGa9bx6mQ" and row.sha256 is None
    assert row.traits["Fur"] == "Robot" and len(row.traits) == 6


@pytest.mark.parametrize(
    "doc",
    [
        {"image": "https://example.com/ape.png"},
        {"image": "ipfs://../../secret"},
        {"image": "ipfs://QmRRPWG96cmgTn2qSzjwr2qvfNEuhunv6FNeMFGa9bx6mQ/x"},
        {"image": TOKEN0["image"], "attributes": {"Fur": "Robot"}},
        {"image": TOKEN0["image"], "attributes": [{"trait_type": "Fur", "value": True}]},
        {"image": TOKEN0["image"], "attributes": [{"trait_type": "Fur", "value": "a"}, {"trait_type": "Fur", "value": "b"}]},
        ["not", "an", "object"],
    ],
)
def test_bad_metadata_is_rejected(doc: object) -> None:
    with pytest.raises(ManifestError):
        parse_token_metadata(1, json.dumps(doc).encode())


def _collection(gw: LoopbackGateway, n: int = 10, fanout: int = 0, traits: dict | None = None) -> tuple[str, list[bytes]]:
    """A metadata directory of `n` tokens (flat, or HAMT with `fanout`) whose images `gw` also serves."""
    images = [f"image of token {i}".encode() * 50 for i in range(n)]
    docs = {str(i): json.dumps({"image": f"ipfs://{gw.add_file(img)}",
                                "attributes": [{"trait_type": "Fur", "value": f"fur{i}"}, *(traits or {}).get(i, [])]}).encode()
            for i, img in enumerate(images)}
    return gw.add_directory(docs, fanout), images


def _data(root: str, *gateways: str, **kw: object) -> DataParams:
    # No test here is about stalls: a generous timeout, so a loaded machine's slow answer is no retry that the
    # gateway never saw (the exact request counts below would then differ).
    return defaults.data(source="ipfs", manifest="metadata", metadata_cid=root, gateways=list(gateways), limit=10,
                      timeout_s=5.0, retries=2, **kw)


@pytest.mark.parametrize("fanout", [0, 256, 4], ids=["flat", "hamt256", "hamt4-nested"])
def test_metadata_directory_is_resolved_and_verified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fanout: int) -> None:
    """Flat and HAMT-sharded directories: each name resolved through verified blocks; a rerun asks nothing."""
    monkeypatch.chdir(tmp_path)
    with LoopbackGateway() as gw:
        root, images = _collection(gw, fanout=fanout)
        rows, summary = fetch_bayc(_data(root, gw.url, min_fraction=1.0), tmp_path / "img")
        assert [r["token_id"] for r in rows] == list(range(10)) and summary["verified"] == 10
        assert all((tmp_path / "img" / f"{i}.png").read_bytes() == images[i] for i in range(10))
        assert rows[3]["fur"] == "fur3" and summary["requests"] == gw.requests  # metadata blocks and images
        before = gw.requests
        assert fetch_bayc(_data(root, gw.url, min_fraction=1.0), tmp_path / "img")[0] == rows
        assert gw.requests == before
        rows, failures = fetch_metadata_rows(GatewayClient([gw.url], timeout_s=0.5, retries=0), [11], Path(".cache/ipfs"), root)
        assert rows == [] and failures == [{"token_id": 11, "cid": f"{root}/11", "reason": "metadata_missing"}]


def test_a_lying_gateway_cannot_swap_token_metadata(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A gateway that answers token 3's JSON with token 9's: refused (verify), never cached; the honest
    gateway's copy is used, and a later run against an honest gateway repairs what the liar alone failed."""
    monkeypatch.chdir(tmp_path)
    with LoopbackGateway() as liar, LoopbackGateway() as honest:
        root, images = _collection(liar)
        _collection(honest)
        liar.paths[f"{root}/3"] = liar.paths.get(f"{root}/9", b"")  # the old path form is never asked
        node = Directory(parse_cid(root), lambda cid: liar.blocks[str(cid)])
        three, nine = str(node.lookup("3")), str(node.lookup("9"))
        liar.blocks[three] = liar.blocks[nine]
        with pytest.raises(FetchError) as err:
            fetch_bayc(_data(root, liar.url, min_fraction=1.0), tmp_path / "img")
        assert err.value.summary["failed_by_reason"] == {"metadata_verify": 1}
        assert not (tmp_path / "img" / "3.png").exists()
        assert not (tmp_path / ".cache/ipfs/dag" / three).exists()
        rows, summary = fetch_bayc(_data(root, honest.url, min_fraction=1.0), tmp_path / "img")
        assert honest.hits[three] == 1 and (tmp_path / "img" / "3.png").read_bytes() == images[3]
        assert summary["verified"] == 10 and [r["token_id"] for r in rows] == list(range(10))
        shutil.rmtree(tmp_path / "img")
        shutil.rmtree(tmp_path / ".cache")
        rows, summary = fetch_bayc(_data(root, liar.url, honest.url, min_fraction=1.0), tmp_path / "img")
        assert summary["verified"] == 10 and (tmp_path / "img" / "3.png").read_bytes() == images[3]


def test_a_bad_cached_block_is_refetched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with LoopbackGateway() as gw:
        root, images = _collection(gw)
        fetch_bayc(_data(root, gw.url), tmp_path / "img")
        three = str(Directory(parse_cid(root), lambda cid: gw.blocks[str(cid)]).lookup("3"))
        (tmp_path / ".cache/ipfs/dag" / three).write_bytes(gw.blocks[str(Directory(parse_cid(root), lambda cid: gw.blocks[str(cid)]).lookup("9"))])
        before = gw.hits[three]
        rows, _ = fetch_bayc(_data(root, gw.url), tmp_path / "img")
        assert gw.hits[three] == before + 1 and (tmp_path / "img" / "3.png").read_bytes() == images[3]


@pytest.mark.parametrize(("extra", "match"), [
    ([{"trait_type": "Token_ID", "value": "7"}], "overwrite the manifest column 'token_id'"),
    ([{"trait_type": "CID", "value": "x"}], "overwrite the manifest column 'cid'"),
    ([{"trait_type": "SHA256", "value": "x"}], "column 'sha256'"),
    ([{"trait_type": "Bytes", "value": "many"}], "column 'bytes'"),
    ([{"trait_type": "Hat", "value": "a"}, {"trait_type": "hat", "value": "b"}], "'Hat' and 'hat' differ only in case"),
])
def test_traits_never_overwrite_manifest_columns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: list,
                                                 match: str) -> None:
    """A token whose traits would clash with token_id/cid/sha256/bytes, or with each other by case, fails
    with a reason; every other row keeps its own verified columns."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ManifestError, match=match):
        parse_token_metadata(1, json.dumps({**TOKEN0, "attributes": extra}).encode())
    with LoopbackGateway() as gw:
        root, _ = _collection(gw, traits={1: extra})
        rows, summary = fetch_bayc(_data(root, gw.url, min_fraction=0.5), tmp_path / "img")
    assert [r["token_id"] for r in rows] == [0, *range(2, 10)]
    assert summary["failures"][0]["reason"] == "metadata_invalid" and match.split("'")[1] in summary["failures"][0]["detail"]
    write_manifest(rows, tmp_path / "manifest.csv")
    back = read_manifest(tmp_path / "manifest.csv")
    assert [r["token_id"] for r in back] == [str(r["token_id"]) for r in rows]
    assert all(r["cid"] == row["cid"] and r["bytes"] == str(row["bytes"]) for r, row in zip(back, rows))


def test_selection_spec_and_limit() -> None:
    assert parse_selection("0-99,1147") == set(range(100)) | {1147}
    assert select_token_ids(range(10000), "5-9,2", limit=3) == [2, 5, 6]
    assert select_token_ids([7, 1, 3], None, None) == [1, 3, 7]
    rows = [ManifestRow(i, CID) for i in (1149, 1147, 1148)]
    assert [row.token_id for row in select_rows(rows, "1140-1148", None)] == [1147, 1148]
    for spec in ["9-5", "a-b", "1,,2", "0-10000", " -3"]:
        with pytest.raises(ManifestError):
            parse_selection(spec)
    with pytest.raises(ManifestError):
        parse_token_id("1e3")




@pytest.mark.parametrize(("content", "match"), [
    (None, "larger than"),  # 200 MB of zero bytes, no newline (a sparse file)
    (HEADER.encode() + b"x" * 5000 + b"\n", ":2: line longer than 4096"),
    (HEADER.encode() + f"0,1147,{SHA},{CID}\n".encode() + b"0,1148,\xff\xfe,x\n", ":3: not UTF-8"),
    (HEADER.encode() + b'0,1,"' + b"x" * 100 * 2000 + b'"\n', ":2: line longer"),
    (HEADER.encode() + b'0,1,"' + (b"x" * 100 + b"\n") * 2000 + b'"\n', "field larger than field limit"),
])
def test_manifest_reads_are_bounded_and_errors_are_one_line(tmp_path: Path, content: bytes | None, match: str) -> None:
    """Oversized files, long lines, bad UTF-8 and csv errors: one ManifestError naming the file (and line), in
    bounded memory."""
    import tracemalloc

    path = tmp_path / "manifest.csv"
    if content is None:
        with path.open("wb") as fh:
            fh.truncate(200_000_000)
    else:
        path.write_bytes(content)
    tracemalloc.start()
    with pytest.raises(ManifestError, match=match) as info:
        read_provenance_csv(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 100_000_000 and str(path) in str(info.value) and "\n" not in str(info.value)
    assert len(str(info.value)) < 300 + len(str(path))


def test_what_is_not_a_regular_file_is_refused_as_a_manifest_without_reading_it(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo.csv")  # reading it would block until a writer came
    for path in (Path("/dev/zero"), tmp_path / "fifo.csv"):
        with pytest.raises(ManifestError, match=f"^{path}: not a regular file$"):
            read_plain_csv(path)


def test_long_values_are_cut_short_in_messages(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"\.\.\.") as info:
        read_provenance_csv(_write(tmp_path, HEADER + f"0,1147,{SHA},Qm{'z' * 3000}\n"))
    assert len(str(info.value)) < 200 + len(str(tmp_path))


def test_a_prepared_manifest_is_read_bounded_too(tmp_path: Path) -> None:
    from apeart.collection.manifest import read_manifest

    path = _write(tmp_path, "token_id,cid\n1,a\n")
    assert read_manifest(path) == [{"token_id": "1", "cid": "a"}]
    path.write_bytes(b"token_id,cid\n1,\xff\n")
    with pytest.raises(ManifestError, match=":2: not UTF-8"):
        read_manifest(path)


def test_hostile_token_metadata_fails_only_its_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 5000-digit integer, 60000 nested arrays (both under the metadata cap) and a DAG linking one empty block
    1000 times per level, 4 deep: each fails its own token (metadata_invalid, metadata_bad_dag) and the rest
    verify."""
    monkeypatch.chdir(tmp_path)
    with LoopbackGateway() as gw:
        images = {i: f"image of token {i}".encode() * 50 for i in range(10)}
        docs = {str(i): json.dumps({"image": f"ipfs://{gw.add_file(img)}"}).encode() for i, img in images.items()}
        docs["1"] = docs["1"][:-1] + b', "attributes": [{"trait_type": "Fur", "value": ' + b"9" * 5000 + b"}]}"
        docs["2"] = b"[" * 60000
        del docs["3"]
        root = gw.add_directory(docs, dags={"3": gw.add_link_bomb()})
        start = time.monotonic()
        rows, summary = fetch_bayc(_data(root, gw.url, min_fraction=0.5), tmp_path / "img")
    assert time.monotonic() - start < 30 and gw.requests < 100
    assert [r["token_id"] for r in rows] == [0, *range(4, 10)]
    assert [(f["token_id"], f["reason"]) for f in summary["failures"]] == [
        (1, "metadata_invalid"), (2, "metadata_invalid"), (3, "metadata_bad_dag")]


def test_a_cid_v1_link_bomb_in_a_csv_manifest_fails_that_image(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with LoopbackGateway() as gw:
        good = gw.add_file(b"a good image" * 100)
        bomb = gw.add_link_bomb(version=1)
        manifest = _write(tmp_path, f"token_id,cid\n5,{bomb}\n6,{good}\n")
        params = defaults.data(source="ipfs", manifest="csv", manifest_path=str(manifest), gateways=[gw.url],
                               timeout_s=5.0, retries=2, min_fraction=0.5)
        rows, summary = fetch_bayc(params, tmp_path / "img")
    assert [r["token_id"] for r in rows] == [6] and gw.requests < 20
    assert [(f["token_id"], f["reason"]) for f in summary["failures"]] == [(5, "bad_dag")]


FORMULAS = ["=cmd|' /C calc'!A0", "+SUM(1+1)*cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0",
            "'=quoted already", "-"]


def test_formula_traits_are_inert_in_the_manifest_and_read_back_unchanged(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Trait names and values a spreadsheet would run are written with a leading ' (OWASP), and the project's
    reader gives back exactly what the metadata said."""
    monkeypatch.chdir(tmp_path)
    hostile = {i: [{"trait_type": f"=HYPERLINK(\"http://x/?{i}\",\"t{i}\")", "value": v}]
               for i, v in enumerate(FORMULAS)}
    with LoopbackGateway() as gw:
        root, _ = _collection(gw, traits=hostile)
        rows, _ = fetch_bayc(_data(root, gw.url, min_fraction=1.0), tmp_path / "img")
    write_manifest(rows, tmp_path / "manifest.csv")
    with (tmp_path / "manifest.csv").open(newline="") as f:
        cells = [cell for record in csv.reader(f) for cell in record]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    back = read_manifest(tmp_path / "manifest.csv")
    assert back == [{k: str(v) for k, v in row.items()} | {c: "" for c in back[0] if c not in row} for row in rows]
    assert [back[i][f"=hyperlink(\"http://x/?{i}\",\"t{i}\")"] for i in range(len(FORMULAS))] == FORMULAS
