"""CIDs and UnixFS/dag-pb blocks: compute kubo's default CIDv0, parse CIDs, verify blocks, reassemble files.

The protobuf encoding is written by hand: it is tiny, and no PyPI library builds UnixFS DAGs
byte-identical to kubo (field order, the encoded empty link Name, unpacked blocksizes).
"""

from __future__ import annotations

import base64
import hashlib
import threading
from dataclasses import dataclass
from typing import Callable, Iterator

import base58
import mmh3
from apeart.core.errors import ApeartError

CHUNK_SIZE = 262144  # kubo's default fixed-size chunker
MAX_LINKS = 174  # kubo's balanced layout: links per internal node
DAG_PB = 0x70
RAW = 0x55
SHA2_256 = 0x12
UNIXFS_RAW, UNIXFS_DIRECTORY, UNIXFS_FILE, UNIXFS_HAMT = 0, 1, 2, 5
MURMUR3_X64_64 = 0x22  # the only HAMT hash function UnixFS defines
_MAX_DEPTH = 32
MIN_BLOCK = 1024  # reading a file may take one block per MIN_BLOCK bytes of its size cap (plus a path's depth)


class CidError(ApeartError, ValueError):
    """A CID or block that is malformed, unsupported or does not match its hash."""


@dataclass(frozen=True)
class Cid:
    """A parsed CID: version 0 (dag-pb, base58btc) or 1 (dag-pb or raw, printed base32), sha2-256 only."""

    version: int
    codec: int
    multihash: bytes

    def __str__(self) -> str:
        if self.version == 0:
            return base58.b58encode(self.multihash).decode("ascii")
        return "b" + base64.b32encode(self.to_bytes()).decode("ascii").lower().rstrip("=")

    def to_bytes(self) -> bytes:
        """Binary form, as stored in a dag-pb link."""
        if self.version == 0:
            return self.multihash
        return _varint(1) + _varint(self.codec) + self.multihash

    @classmethod
    def from_bytes(cls, raw: bytes) -> Cid:
        """Parse a binary CID (a link's Hash field)."""
        if raw[:2] == bytes([SHA2_256, 32]):
            return cls._checked(0, DAG_PB, raw)
        version, pos = _read_varint(raw, 0)
        codec, pos = _read_varint(raw, pos)
        if version != 1:
            raise CidError(f"unsupported CID version {version}")
        return cls._checked(1, codec, raw[pos:])

    @classmethod
    def _checked(cls, version: int, codec: int, multihash: bytes) -> Cid:
        if codec not in (DAG_PB, RAW):
            raise CidError(f"unsupported codec 0x{codec:x} (only dag-pb and raw)")
        if len(multihash) != 34 or multihash[:2] != bytes([SHA2_256, 32]):
            raise CidError("unsupported multihash (only sha2-256, 32 bytes)")
        return cls(version, codec, multihash)


def parse_cid(text: str) -> Cid:
    """Parse a canonical CIDv0 (`Qm...`) or base32 CIDv1 (`b...`); anything else raises CidError."""
    if not isinstance(text, str) or not text.isascii() or not text.isalnum():
        raise CidError(f"invalid CID {text!r}")
    try:
        if len(text) == 46 and text.startswith("Qm"):
            cid = Cid._checked(0, DAG_PB, base58.b58decode(text))
        elif text.startswith("b") and text == text.lower():
            body = text[1:].upper()
            cid = Cid.from_bytes(base64.b32decode(body + "=" * (-len(body) % 8)))
        else:
            raise CidError(f"invalid CID {text!r}: expected CIDv0 Qm... or base32 CIDv1 b...")
    except (ValueError, IndexError) as exc:
        raise CidError(f"invalid CID {text!r}: {exc}") from None
    if str(cid) != text:
        raise CidError(f"non-canonical CID {text!r}")
    return cid


def verify_block(cid: Cid, block: bytes) -> None:
    """Raise CidError unless `block` hashes to `cid`."""
    if hashlib.sha256(block).digest() != cid.multihash[2:]:
        raise CidError(f"block does not hash to {cid}")


@dataclass(frozen=True)
class Link:
    """One dag-pb link."""

    cid: Cid
    name: str
    tsize: int


@dataclass(frozen=True)
class Node:
    """A decoded block: dag-pb links and UnixFS fields, or a raw block as File data."""

    links: tuple[Link, ...]
    kind: int
    data: bytes
    filesize: int | None
    blocksizes: tuple[int, ...]
    hash_type: int | None = None
    fanout: int | None = None


def decode_node(cid: Cid, block: bytes) -> Node:
    """Decode a verified block into links and UnixFS data."""
    if cid.codec == RAW:
        return Node((), UNIXFS_RAW, block, len(block), ())
    links, unixfs = [], None
    for field, value in _fields(block):
        if field == 2 and unixfs is None and isinstance(value, bytes):
            links.append(_decode_link(value))
        elif field == 1 and unixfs is None and isinstance(value, bytes):
            unixfs = value
        else:
            raise CidError(f"malformed dag-pb node {cid}")
    if unixfs is None:
        raise CidError(f"dag-pb node {cid} has no UnixFS data")
    kind, data, filesize, blocksizes, hash_type, fanout = None, b"", None, [], None, None
    for field, value in _fields(unixfs):
        if field == 1 and isinstance(value, int):
            kind = value
        elif field == 2 and isinstance(value, bytes):
            data = value
        elif field == 3 and isinstance(value, int):
            filesize = value
        elif field == 4:
            blocksizes.extend(_packed(value) if isinstance(value, bytes) else [value])
        elif field == 5 and isinstance(value, int):
            hash_type = value
        elif field == 6 and isinstance(value, int):
            fanout = value
    if kind is None:
        raise CidError(f"UnixFS node {cid} has no type")
    return Node(tuple(links), kind, data, filesize, tuple(blocksizes), hash_type, fanout)


class NameNotFound(CidError):
    """A verified directory has no entry of that name."""


def hamt_hash(name: str) -> bytes:
    """UnixFS HAMT hash of an entry name: murmur3-x64-64 (the 128-bit hash's first half), big-endian."""
    return mmh3.hash64(name.encode(), signed=False)[0].to_bytes(8, "big")


class Directory:
    """Name lookups in a UnixFS directory, flat or HAMT-sharded, every block verified; thread-safe, each
    directory block fetched and decoded once."""

    def __init__(self, root: Cid, get_block: Callable[[Cid], bytes]) -> None:
        self.root, self.get_block = root, get_block
        self._nodes: dict[Cid, tuple[Node, dict[str, Link]]] = {}
        self._locks: dict[Cid, threading.Lock] = {}
        self._lock = threading.Lock()

    def lookup(self, name: str) -> Cid:
        """The CID the directory links under `name`; NameNotFound when it has none."""
        cid, bits_used = self.root, 0
        for _ in range(_MAX_DEPTH):
            node, links = self._node(cid)
            if node.kind == UNIXFS_DIRECTORY and cid == self.root:
                if name not in links:
                    raise NameNotFound(f"directory {self.root} has no entry {name!r}")
                return links[name].cid
            if node.kind != UNIXFS_HAMT:
                raise CidError(f"{cid} is not a directory (UnixFS type {node.kind})")
            fanout = node.fanout or 0
            bits = fanout.bit_length() - 1
            if node.hash_type != MURMUR3_X64_64 or not 2 <= fanout <= 4096 or fanout != 1 << bits:
                raise CidError(f"HAMT shard {cid}: unsupported hash type {node.hash_type} or fanout {fanout}")
            if bits_used + bits > 64:
                raise CidError(f"HAMT under {self.root} is deeper than its 64-bit hash")
            index = int.from_bytes(hamt_hash(name), "big") >> (64 - bits_used - bits) & (fanout - 1)
            prefix = f"{index:0{len(f'{fanout - 1:X}')}X}"
            if prefix + name in links:
                return links[prefix + name].cid
            if prefix not in links:
                raise NameNotFound(f"directory {self.root} has no entry {name!r}")
            cid, bits_used = links[prefix].cid, bits_used + bits
        raise CidError(f"directory under {self.root} is deeper than {_MAX_DEPTH}")

    def _node(self, cid: Cid) -> tuple[Node, dict[str, Link]]:
        with self._lock:
            lock = self._locks.setdefault(cid, threading.Lock())
        with lock:
            if cid not in self._nodes:
                block = self.get_block(cid)
                verify_block(cid, block)
                node = decode_node(cid, block)
                self._nodes[cid] = node, {link.name: link for link in node.links}
            return self._nodes[cid]


def read_file(cid: Cid, get_block: Callable[[Cid], bytes], max_bytes: int) -> bytes:
    """Reassemble a UnixFS file from blocks, verifying each block's hash and the declared sizes; a DAG that
    needs more than max_bytes // MIN_BLOCK + _MAX_DEPTH blocks is refused, each block being a request."""
    out = bytearray()
    limit, visits = max_bytes // MIN_BLOCK + _MAX_DEPTH, 0

    def counted(block_cid: Cid) -> bytes:
        nonlocal visits
        visits += 1
        if visits > limit:
            raise CidError(f"DAG under {cid} needs more than {limit} blocks for at most {max_bytes} bytes")
        return get_block(block_cid)

    _read_into(cid, counted, max_bytes, out, 0)
    return bytes(out)


def _read_into(cid: Cid, get_block: Callable[[Cid], bytes], max_bytes: int, out: bytearray, depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise CidError(f"DAG under {cid} is deeper than {_MAX_DEPTH}")
    block = get_block(cid)
    verify_block(cid, block)
    node = decode_node(cid, block)
    if node.kind not in (UNIXFS_FILE, UNIXFS_RAW):
        raise CidError(f"{cid} is not a file (UnixFS type {node.kind})")
    if node.links and len(node.blocksizes) != len(node.links):
        raise CidError(f"{cid}: {len(node.links)} links but {len(node.blocksizes)} blocksizes")
    start = len(out)
    out += node.data
    for link, size in zip(node.links, node.blocksizes):
        if size == 0:  # adds no bytes, only requests, so the byte cap cannot bound them; no importer links one
            raise CidError(f"{cid} links {link.cid}, a child of 0 bytes")
        if len(out) + size > max_bytes:
            raise CidError(f"{cid} is larger than {max_bytes} bytes")
        before = len(out)
        _read_into(link.cid, get_block, max_bytes, out, depth + 1)
        if len(out) - before != size:
            raise CidError(f"child {link.cid} holds {len(out) - before} bytes, parent says {size}")
    if len(out) > max_bytes:
        raise CidError(f"{cid} is larger than {max_bytes} bytes")
    if node.filesize is not None and len(out) - start != node.filesize:
        raise CidError(f"{cid} holds {len(out) - start} bytes, filesize says {node.filesize}")


def encode_unixfs(kind: int, data: bytes = b"", filesize: int | None = None, blocksizes: tuple[int, ...] = ()) -> bytes:
    """UnixFS Data message as kubo writes it (fields in order, blocksizes unpacked)."""
    out = _key(1, 0) + _varint(kind)
    if data:
        out += _bytes_field(2, data)
    if filesize is not None:
        out += _key(3, 0) + _varint(filesize)
    for size in blocksizes:
        out += _key(4, 0) + _varint(size)
    return out


def encode_node(unixfs: bytes, links: tuple[Link, ...] = ()) -> bytes:
    """dag-pb PBNode: links first, then Data (the canonical order)."""
    out = b""
    for link in links:
        body = _bytes_field(1, link.cid.to_bytes()) + _bytes_field(2, link.name.encode()) + _key(3, 0) + _varint(link.tsize)
        out += _bytes_field(2, body)
    return out + _bytes_field(1, unixfs)


def build_dag(data: bytes) -> tuple[str, dict[str, bytes]]:
    """Build kubo's default DAG for `data`: (root CIDv0, {CIDv0: block})."""
    blocks: dict[str, bytes] = {}

    def put(block: bytes) -> Cid:
        cid = Cid(0, DAG_PB, bytes([SHA2_256, 32]) + hashlib.sha256(block).digest())
        blocks[str(cid)] = block
        return cid

    chunks = [data[i : i + CHUNK_SIZE] for i in range(0, len(data), CHUNK_SIZE)] or [b""]
    # Each level entry: (cid, file bytes below it, cumulative block size below it).
    level = []
    for chunk in chunks:
        block = encode_node(encode_unixfs(UNIXFS_FILE, chunk, len(chunk)))
        level.append((put(block), len(chunk), len(block)))
    while len(level) > 1:
        parents = []
        for group in _groups(level, MAX_LINKS):
            links = tuple(Link(cid, "", tsize) for cid, _, tsize in group)
            sizes = tuple(size for _, size, _ in group)
            block = encode_node(encode_unixfs(UNIXFS_FILE, b"", sum(sizes), sizes), links)
            parents.append((put(block), sum(sizes), len(block) + sum(t for _, _, t in group)))
        level = parents
    return str(level[0][0]), blocks


def cid_v0(data: bytes) -> str:
    """The CIDv0 `ipfs add` (kubo defaults) gives for `data`."""
    return build_dag(data)[0]


def verify_file(cid: Cid, data: bytes) -> bool:
    """True when `data` is the file `cid` names under kubo's default chunking (or a raw single block)."""
    if cid.codec == RAW:
        return hashlib.sha256(data).digest() == cid.multihash[2:]
    return parse_cid(cid_v0(data)).multihash == cid.multihash


def _groups(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise CidError("truncated or overlong varint")
        byte = buf[pos]
        value |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if not byte & 0x80:
            return value, pos


def _key(field: int, wire: int) -> bytes:
    return _varint(field << 3 | wire)


def _bytes_field(field: int, value: bytes) -> bytes:
    return _key(field, 2) + _varint(len(value)) + value


def _fields(buf: bytes) -> Iterator[tuple[int, int | bytes]]:
    """Yield (field number, int or bytes) from a protobuf message (wire types 0 and 2 only)."""
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        if key & 7 == 0:
            value, pos = _read_varint(buf, pos)
        elif key & 7 == 2:
            length, pos = _read_varint(buf, pos)
            if pos + length > len(buf):
                raise CidError("truncated protobuf field")
            value, pos = buf[pos : pos + length], pos + length
        else:
            raise CidError(f"unsupported protobuf wire type {key & 7}")
        yield key >> 3, value


def _packed(buf: bytes) -> list[int]:
    values, pos = [], 0
    while pos < len(buf):
        value, pos = _read_varint(buf, pos)
        values.append(value)
    return values


def _decode_link(buf: bytes) -> Link:
    cid, name, tsize = None, "", 0
    for field, value in _fields(buf):
        if field == 1 and isinstance(value, bytes):
            cid = Cid.from_bytes(value)
        elif field == 2 and isinstance(value, bytes):
            try:
                name = value.decode("utf-8")
            except UnicodeDecodeError:
                raise CidError("dag-pb link name is not UTF-8") from None
        elif field == 3 and isinstance(value, int):
            tsize = value
        else:
            raise CidError("malformed dag-pb link")
    if cid is None:
        raise CidError("dag-pb link without a hash")
    return Link(cid, name, tsize)
