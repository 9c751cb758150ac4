"""CID computation against kubo vectors and an independent oracle, CID parsing, block verification and DAG reassembly."""

import hashlib
import random

import aleph_cid
import pytest
from ipfs_server import LoopbackGateway

from apeart.ipfs.cid import (
    CHUNK_SIZE,
    DAG_PB,
    MAX_LINKS,
    RAW,
    UNIXFS_DIRECTORY,
    Cid,
    CidError,
    build_dag,
    cid_v0,
    decode_node,
    encode_node,
    encode_unixfs,
    parse_cid,
    read_file,
    verify_block,
    verify_file,
)

EMPTY_DIR_V0 = "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
KUBO_VECTORS = [
    (b"", "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"),
    (b"hello world\n", "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"),
    (b"hello world", "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD"),
]
# kubo's defaults written out here, not taken from the code under test.
KUBO_CHUNK, KUBO_LINKS = 262_144, 174
ORACLE_SIZES = [
    0, 1, KUBO_CHUNK - 1, KUBO_CHUNK, KUBO_CHUNK + 1, 2 * KUBO_CHUNK, 3 * KUBO_CHUNK + 12_345,
    KUBO_LINKS * KUBO_CHUNK - 1, KUBO_LINKS * KUBO_CHUNK, KUBO_LINKS * KUBO_CHUNK + 1,
    (KUBO_LINKS + 1) * KUBO_CHUNK, 45 * 2**20,
]


@pytest.mark.parametrize(("data", "expected"), KUBO_VECTORS)
def test_cid_v0_matches_kubo(data: bytes, expected: str) -> None:
    assert cid_v0(data) == expected


@pytest.mark.parametrize(("data", "expected"), KUBO_VECTORS)
def test_oracle_matches_kubo(data: bytes, expected: str) -> None:
    assert aleph_cid.compute_cid(data) == expected


def test_oracle_matches_kubo_on_a_multi_level_dag() -> None:
    # 128 MiB of "deadbeef" (512 chunks, three internal nodes under the root): CID from kubo, per aleph-cid's own tests.
    hasher = aleph_cid.CidHasher.for_ipfs()
    for _ in range(128):
        hasher.update(b"deadbeef" * 2**17)
    assert hasher.finalize() == "QmcYKke22MG2rnu4nPVj8Z3hMPi2wtVMKzqLcJwYRThYif"


@pytest.fixture(scope="module")
def random_bytes() -> bytes:
    """Deterministic pseudo-random bytes, as many as the largest oracle size."""
    return random.Random(174).randbytes(max(ORACLE_SIZES))


@pytest.mark.parametrize("size", ORACLE_SIZES)
def test_cid_v0_and_build_dag_match_the_oracle(random_bytes: bytes, size: int) -> None:
    data = random_bytes[:size]
    expected = aleph_cid.compute_cid(data)
    assert cid_v0(data) == expected
    assert build_dag(data)[0] == expected


def test_empty_directory_matches_kubo_in_both_versions() -> None:
    block = encode_node(encode_unixfs(UNIXFS_DIRECTORY))
    cid = parse_cid(EMPTY_DIR_V0)
    verify_block(cid, block)
    assert str(Cid(1, DAG_PB, cid.multihash)) == "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354"


def test_parse_raw_cid_v1_of_empty_bytes() -> None:
    cid = parse_cid("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku")
    assert (cid.version, cid.codec) == (1, RAW)
    assert cid.multihash[2:] == hashlib.sha256(b"").digest()
    assert verify_file(cid, b"") and not verify_file(cid, b"x")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "../etc/passwd",
        "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o/..",
        "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5",  # one char short
        "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5O",  # O is not base58
        "BAFYBEICZSSCDSBS7FFQZ55ASQDF3SMV6KLCW3GOFSZVWLYARCI47BGF354",  # upper-case base32
        "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf35",  # truncated
        "zdj7WWeQ43G6JJvLWQWZpyHuAMq6uYWRjkBXFad11vE2LHhQ7",  # base58 CIDv1
        " QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o",
    ],
)
def test_parse_cid_rejects_malformed(text: str) -> None:
    with pytest.raises(CidError):
        parse_cid(text)


def test_parse_cid_round_trips_v0_and_v1() -> None:
    v0 = parse_cid("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o")
    v1 = Cid(1, DAG_PB, v0.multihash)
    assert str(v1).startswith("bafybei")
    assert parse_cid(str(v1)) == v1
    assert Cid.from_bytes(v1.to_bytes()) == v1
    assert Cid.from_bytes(v0.to_bytes()) == v0


def test_verify_block_rejects_other_bytes() -> None:
    root, blocks = build_dag(b"hello world\n")
    cid = parse_cid(root)
    verify_block(cid, blocks[root])
    with pytest.raises(CidError):
        verify_block(cid, blocks[root] + b"\0")


def _round_trip(data: bytes) -> tuple[Cid, dict[str, bytes]]:
    root, blocks = build_dag(data)
    fetched: list[str] = []

    def get_block(cid: Cid) -> bytes:
        fetched.append(str(cid))
        return blocks[str(cid)]

    cid = parse_cid(root)
    assert read_file(cid, get_block, max_bytes=len(data) + 1) == data
    assert set(fetched) == set(blocks)
    assert verify_file(cid, data)
    return cid, blocks


def test_single_chunk_file_is_one_leaf() -> None:
    data = bytes(range(256)) * (CHUNK_SIZE // 256)
    cid, blocks = _round_trip(data)
    assert len(blocks) == 1
    assert decode_node(cid, blocks[str(cid)]).data == data


def test_two_chunk_file_has_root_with_two_leaves() -> None:
    data = random.Random(1).randbytes(CHUNK_SIZE + 1)
    cid, blocks = _round_trip(data)
    root = decode_node(cid, blocks[str(cid)])
    assert len(blocks) == 3
    assert root.filesize == len(data) and root.blocksizes == (CHUNK_SIZE, 1)
    assert [link.name for link in root.links] == ["", ""]
    leaf_sizes = [len(blocks[str(link.cid)]) for link in root.links]
    assert [link.tsize for link in root.links] == leaf_sizes


def test_more_than_max_links_chunks_builds_two_level_tree() -> None:
    # Identical chunks share one leaf block, so this stays small in memory and time.
    data = b"\x07" * (CHUNK_SIZE * MAX_LINKS + 100)
    cid, blocks = _round_trip(data)
    root = decode_node(cid, blocks[str(cid)])
    assert root.blocksizes == (CHUNK_SIZE * MAX_LINKS, 100)
    full, tail = (decode_node(link.cid, blocks[str(link.cid)]) for link in root.links)
    assert len(full.links) == MAX_LINKS and len(tail.links) == 1
    assert root.links[0].tsize == len(blocks[str(root.links[0].cid)]) + sum(link.tsize for link in full.links)
    assert len(blocks) == 5  # root, two internal nodes, the full-chunk leaf and the 100-byte leaf


def test_read_file_rejects_a_substituted_block() -> None:
    root, blocks = build_dag(random.Random(2).randbytes(CHUNK_SIZE + 10))
    leaf = decode_node(parse_cid(root), blocks[root]).links[1].cid
    blocks[str(leaf)] = b"not the block"
    with pytest.raises(CidError, match="does not hash"):
        read_file(parse_cid(root), lambda cid: blocks[str(cid)], max_bytes=10**7)


def test_read_file_enforces_max_bytes() -> None:
    root, blocks = build_dag(b"x" * (CHUNK_SIZE + 10))
    with pytest.raises(CidError, match="larger than"):
        read_file(parse_cid(root), lambda cid: blocks[str(cid)], max_bytes=CHUNK_SIZE)


def test_read_file_rejects_a_directory() -> None:
    block = encode_node(encode_unixfs(UNIXFS_DIRECTORY))
    with pytest.raises(CidError, match="not a file"):
        read_file(parse_cid(EMPTY_DIR_V0), lambda cid: block, max_bytes=100)


def test_read_file_bounds_the_blocks_a_dag_may_take() -> None:
    """Links to an empty block are refused at once; 1-byte leaves repeated 100 times per level (10 kB, 10101
    blocks) need more blocks than a 100 kB cap allows (one per MIN_BLOCK bytes, plus a path's depth)."""
    with LoopbackGateway() as gw:
        empty, tiny = gw.add_link_bomb(), gw.add_link_bomb(links=100, levels=2, leaf=b"x")
        calls: list[Cid] = []

        def get(cid: Cid) -> bytes:
            calls.append(cid)
            return gw.blocks[str(cid)]

        with pytest.raises(CidError, match="child of 0 bytes"):
            read_file(empty, get, max_bytes=16 * 2**20)
        assert len(calls) == 1
        with pytest.raises(CidError, match="needs more than 129 blocks"):
            read_file(tiny, get, max_bytes=100_000)
        assert len(calls) == 1 + 129
