"""A real loopback IPFS path gateway for tests: content by CID, raw blocks, injectable faults."""

from __future__ import annotations

import base64
import hashlib
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import aleph_cid
import base58

from apeart.ipfs.cid import (
    DAG_PB, MURMUR3_X64_64, SHA2_256, UNIXFS_DIRECTORY, UNIXFS_FILE, UNIXFS_HAMT, Cid, Link, _bytes_field, _key, _varint,
    build_dag, encode_node, encode_unixfs, hamt_hash,
)

HTML = b"<!doctype html><html><body>Gateway error: please try again</body></html>"


class LoopbackGateway:
    """Serve `/ipfs/<cid>` (file), `/ipfs/<cid>?format=raw` (block) and `/ipfs/<cid>/<name>` on 127.0.0.1.

    Faults, consumed one per request for a key (a CID, or `<cid>/<name>`): "500", "503", "404", "429:<secs>"
    (Retry-After), "stall" (half the body, then silence), "truncated", "html", "wrong", "redirect" (a loop),
    "slow:<secs>", "trickle:<secs>" (1 KiB per interval). `always` applies one fault to every request
    (a gateway that is down). `auth` ("user:password"): basic auth required, else 401; `authorizations` holds
    the Authorization header (or None) of every request.
    """

    def __init__(self, latency_s: float = 0.0, always: str | None = None, auth: str | None = None):
        self.auth = f"Basic {base64.b64encode(auth.encode()).decode()}" if auth else None
        self.authorizations: list[str | None] = []
        self.files: dict[str, bytes] = {}
        self.blocks: dict[str, bytes] = {}
        self.paths: dict[str, bytes] = {}
        self.faults: dict[str, list[str]] = {}
        self.always = always
        self.latency_s = latency_s
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        # Requests between arrival and the start of their response. Not until the handler returns: a client
        # that has read a response may send its next request before this handler's thread runs again.
        self.inflight = self.max_inflight = 0
        self._server = _Server(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def requests(self) -> int:
        return sum(self.hits.values())

    def add_file(self, data: bytes) -> str:
        """Serve `data` (and its blocks) under the CIDv0 aleph-cid (not the code under test) gives it; return the CID."""
        cid = aleph_cid.compute_cid(data)
        root, blocks = build_dag(data)  # blocks for ?format=raw; the oracle's root hash pins every one of them
        assert root == cid, f"build_dag root {root} is not the oracle's {cid} for {len(data)} bytes"
        self.files[cid] = data
        self.blocks.update(blocks)
        return cid

    def add_directory(self, files: dict[str, bytes], fanout: int = 0, dags: dict[str, Cid] | None = None) -> str:
        """Serve a UnixFS directory of `files` (and of DAGs already served, `dags`) as blocks: flat (fanout 0) or
        HAMT-sharded with `fanout` (kubo's layout: a bucket holding one entry links it as <2 hex><name>, a fuller
        one a child shard)."""
        entries = {name: Link(cid, name, len(self.blocks[str(cid)])) for name, cid in (dags or {}).items()}
        for name, data in files.items():
            cid = self.add_file(data)
            entries[name] = Link(Cid.from_bytes(_b58(cid)), name, len(self.blocks[cid]))
        if not fanout:
            return str(self._put(encode_node(encode_unixfs(UNIXFS_DIRECTORY), tuple(sorted(entries.values(), key=lambda l: l.name)))))
        return str(self._shard(list(entries.values()), fanout, 0))

    def _shard(self, entries: list[Link], fanout: int, level: int) -> Cid:
        bits = fanout.bit_length() - 1
        buckets: dict[int, list[Link]] = {}
        for link in entries:
            index = int.from_bytes(hamt_hash(link.name), "big") >> (64 - bits * (level + 1)) & (fanout - 1)
            buckets.setdefault(index, []).append(link)
        pad = len(f"{fanout - 1:X}")
        links = []
        for index, items in sorted(buckets.items()):
            if len(items) == 1:
                links.append(Link(items[0].cid, f"{index:0{pad}X}{items[0].name}", items[0].tsize))
            else:
                child = self._shard(items, fanout, level + 1)
                links.append(Link(child, f"{index:0{pad}X}", len(self.blocks[str(child)])))
        bitfield = sum(1 << i for i in buckets).to_bytes(max(1, fanout // 8), "big")
        unixfs = (_key(1, 0) + _varint(UNIXFS_HAMT) + _bytes_field(2, bitfield) + _key(5, 0) + _varint(MURMUR3_X64_64)
                  + _key(6, 0) + _varint(fanout))
        return self._put(encode_node(unixfs, tuple(links)))

    def _put(self, block: bytes, version: int = 0) -> Cid:
        cid = Cid(version, DAG_PB, bytes([SHA2_256, 32]) + hashlib.sha256(block).digest())
        self.blocks[str(cid)] = block
        return cid

    def add_link_bomb(self, links: int = 1000, levels: int = 4, leaf: bytes = b"", version: int = 0) -> Cid:
        """Serve a hostile file DAG: every node links `links` times to the same child, `levels` deep, over one
        leaf holding `leaf`; the root is a dag-pb CID of `version`."""
        child = self._put(encode_node(encode_unixfs(UNIXFS_FILE, leaf, len(leaf))))
        size = len(leaf)
        for level in range(levels):
            node = encode_node(encode_unixfs(UNIXFS_FILE, b"", size * links, (size,) * links),
                               (Link(child, "", len(self.blocks[str(child)])),) * links)
            child, size = self._put(node, version if level == levels - 1 else 0), size * links
        return child

    def fault(self, key: str, *faults: str) -> None:
        """Queue faults for the next requests of `key`."""
        self.faults.setdefault(key, []).extend(faults)

    def __enter__(self) -> LoopbackGateway:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def next_fault(self, key: str) -> str | None:
        """Count a request for `key` and return the fault it gets, if any."""
        with self.lock:
            self.hits[key] += 1
            queue = self.faults.get(key)
            return queue.pop(0) if queue else self.always


def _b58(cid: str) -> bytes:
    return base58.b58decode(cid)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # clients hanging up on stalls are expected
            super().handle_error(request, client_address)


def _handler(gateway: LoopbackGateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            with gateway.lock:
                gateway.inflight += 1
                gateway.max_inflight = max(gateway.max_inflight, gateway.inflight)
            self.in_flight = True
            try:
                self._serve()
            finally:
                self._responding()

        def _responding(self) -> None:
            """Leave the in-flight count (once per request), as the response starts."""
            if self.in_flight:
                self.in_flight = False
                with gateway.lock:
                    gateway.inflight -= 1

        def _serve(self) -> None:
            authorization = self.headers.get("Authorization")
            gateway.authorizations.append(authorization)
            if gateway.auth and authorization != gateway.auth:
                return self._send(401, b"unauthorized", {"WWW-Authenticate": 'Basic realm="ipfs"'})
            url = urlsplit(self.path)
            parts = url.path.split("/")
            if len(parts) not in (3, 4) or parts[1] != "ipfs":
                return self._send(400, b"bad path")
            key = "/".join(parts[2:])
            raw = parse_qs(url.query).get("format") == ["raw"] or "application/vnd.ipld.raw" in self.headers.get("Accept", "")
            store = gateway.paths if len(parts) == 4 else gateway.blocks if raw else gateway.files
            fault = gateway.next_fault(key)
            time.sleep(gateway.latency_s)
            body = store.get(key)
            if fault is None:
                return self._send(200, body) if body is not None else self._send(404, b"not found")
            name, _, arg = fault.partition(":")
            if name in ("500", "503", "404"):
                return self._send(int(name), b"error")
            if name == "429":
                return self._send(429, b"slow down", {"Retry-After": arg})
            if name == "redirect":
                return self._send(302, b"", {"Location": self.path})
            if name == "html":
                return self._send(200, HTML, {"Content-Type": "text/html"})
            if name == "wrong":
                return self._send(200, bytes(b ^ 0xFF for b in body))
            if name == "slow":
                time.sleep(float(arg))
                return self._send(200, body)
            if name == "trickle":
                self._head(200, len(body))
                for i in range(0, len(body), 1024):
                    self.wfile.write(body[i : i + 1024])
                    self.wfile.flush()
                    time.sleep(float(arg))
                return None
            if name in ("stall", "truncated"):
                self._head(200, len(body))
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                if name == "stall":
                    gateway.stopping.wait(30)
                self.close_connection = True
                return None
            raise ValueError(f"unknown fault {fault!r}")

        def _head(self, code: int, length: int, headers: dict[str, str] | None = None) -> None:
            self._responding()
            self.send_response(code)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(length))
            self.end_headers()

        def _send(self, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self._head(code, len(body), headers)
            self.wfile.write(body)

    return Handler
