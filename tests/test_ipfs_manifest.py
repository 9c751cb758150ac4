"""Manifest sources (provenance CSV, token metadata, plain CSV), validation and selection."""

import json
from pathlib import Path

import pytest
from ipfs_server import LoopbackGateway

from apeart.collection.sources import (
    BAYC_METADATA_CID,
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


def test_metadata_fetched_through_gateway_then_cached(tmp_path: Path) -> None:
    with LoopbackGateway() as gw:
        gw.paths[f"{BAYC_METADATA_CID}/0"] = json.dumps(TOKEN0).encode()
        gw.fault(f"{BAYC_METADATA_CID}/0", "html")
        client = GatewayClient([gw.url], timeout_s=0.3, retries=2, backoff_s=0.01)
        rows, failures = fetch_metadata_rows(client, [0, 1], tmp_path)
        assert [row.token_id for row in rows] == [0] and rows[0].traits["Eyes"] == "X Eyes"
        assert failures == [{"token_id": 1, "cid": f"{BAYC_METADATA_CID}/1", "reason": "metadata_http_404"}]
        before = gw.requests
        assert fetch_metadata_rows(client, [0], tmp_path) == (rows, [])
        assert gw.requests == before == 3  # html, then JSON, then one 404; the rerun asked nothing


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


