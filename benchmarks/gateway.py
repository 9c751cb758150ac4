"""A loopback IPFS path gateway for the fetch benchmark: files by CIDv0 at `/ipfs/<cid>`, after a fixed latency."""
from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from apeart.ipfs.cid import cid_v0


class LatencyGateway:
    """Serve added files on 127.0.0.1 (a context manager), each response `latency_s` after its request."""

    def __init__(self, latency_s: float) -> None:
        self.files: dict[str, bytes] = {}
        files, latency = self.files, latency_s

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                time.sleep(latency)
                body = files.get(self.path.removeprefix("/ipfs/").split("?")[0])
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add_file(self, data: bytes) -> str:
        """Serve `data` under its CIDv0 (kubo's default chunking); return the CID."""
        cid = cid_v0(data)
        self.files[cid] = data
        return cid

    def __enter__(self) -> LatencyGateway:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
