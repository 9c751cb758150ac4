"""HTTP client for IPFS path gateways: timeouts, stall detection, retries, failover and verified bytes."""

from __future__ import annotations

import hashlib
import random
import threading
import time
from pathlib import Path
from typing import Callable, Sequence, TypeVar

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader
from urllib3.util.retry import Retry

from apeart.core.errors import ApeartError
from apeart.core.files import write_bytes
from apeart.ipfs.cid import DAG_PB, Cid, CidError, parse_cid, read_file, verify_block, verify_file
from apeart.ipfs.urls import auth_for, gateway_auth, normalize_gateway

T = TypeVar("T")
RAW_BLOCK = "application/vnd.ipld.raw"
MAX_BLOCK = 2 * 1024 * 1024  # the largest block IPFS implementations are required to handle
_CHUNK = 64 * 1024


class GatewayError(ApeartError):
    """A failed fetch: `reason` is a short category (http_500, stall, verify, ...) used in reports."""

    def __init__(self, reason: str, detail: str, *, permanent: bool = False, retry_after: float | None = None):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after


class GatewayClient:
    """Fetch verified content from an ordered list of gateways, safe to share between threads."""

    def __init__(
        self,
        gateways: Sequence[str],
        *,
        per_gateway: int = 4,
        timeout_s: float = 30.0,
        deadline_s: float | None = None,
        retries: int = 4,
        max_bytes: int = 16 * 1024 * 1024,
        max_redirects: int = 5,
        backoff_s: float = 0.5,
        max_wait_s: float = 60.0,
        trustless: bool = False,
    ):
        if not gateways:
            raise ValueError("need at least one gateway")
        if per_gateway < 1 or retries < 0 or timeout_s <= 0 or max_bytes < 1:
            raise ValueError("per_gateway >= 1, retries >= 0, timeout_s > 0 and max_bytes >= 1 required")
        self.gateways = list(dict.fromkeys(normalize_gateway(url) for url in gateways))
        self.timeout_s = timeout_s
        self.deadline_s = deadline_s or 4 * timeout_s
        self.retries = retries
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.backoff_s = backoff_s
        self.max_wait_s = max_wait_s
        self.trustless = trustless
        auth = gateway_auth()  # user and password per gateway host: APEART_GATEWAY_AUTH, never a param
        self._auth = {g: auth_for(g, auth) for g in self.gateways}
        self._slots = {g: threading.BoundedSemaphore(per_gateway) for g in self.gateways}
        self._cooldown: dict[str, float] = {}
        self._lock = threading.Lock()
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self.requests = 0

    def fetch_file(self, cid: str) -> bytes:
        """Return the file `cid` names, every byte verified against the CID.

        Plain mode recomputes the CID from the bytes (kubo default layout, CIDv0 or raw); trustless mode, and any
        CIDv1 dag-pb, fetches `?format=raw` blocks, checks each block's hash and walks the dag-pb links.
        """
        parsed = parse_cid(cid)
        if self.trustless or (parsed.version == 1 and parsed.codec == DAG_PB):
            try:
                return read_file(parsed, self._block, self.max_bytes)
            except CidError as exc:
                raise GatewayError("bad_dag", str(exc), permanent=True) from None
        return self._get(f"/ipfs/{parsed}", lambda body: _checked_file(parsed, body), raw=False, max_bytes=self.max_bytes)

    def close(self) -> None:
        """Close the HTTP sessions of all threads."""
        with self._lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()

    def fetch_block(self, cid: Cid) -> bytes:
        """One `?format=raw` block, verified against `cid` (with failover across gateways)."""
        return self._block(cid)

    def _block(self, cid: Cid) -> bytes:
        def check(block: bytes) -> bytes:
            verify_block(cid, block)
            return block

        return self._get(f"/ipfs/{cid}?format=raw", check, raw=True, max_bytes=min(self.max_bytes, MAX_BLOCK))

    def _get(self, path: str, parse: Callable[[bytes], T], *, raw: bool, max_bytes: int) -> T:
        """Try gateways in order (least-tried first), backing off before a gateway is tried again."""
        tries = dict.fromkeys(self.gateways, 0)
        dead: set[str] = set()
        last = GatewayError("rate_limited", f"every gateway asked to wait more than {self.max_wait_s} s")
        for _ in range(self.retries + 1):
            choice = self._choose(tries, dead)
            if choice is None:
                break
            gateway, wait = choice
            time.sleep(wait)
            tries[gateway] += 1
            try:
                with self._slots[gateway]:
                    body = self._request(gateway + path, raw, max_bytes, self._auth[gateway])
                return parse(body)
            except GatewayError as exc:
                last = exc
                if exc.permanent:
                    dead.add(gateway)
                if exc.retry_after is not None:
                    with self._lock:
                        self._cooldown[gateway] = max(self._cooldown.get(gateway, 0.0), time.monotonic() + exc.retry_after)
            except CidError as exc:
                last = GatewayError("verify", f"{gateway}{path}: {exc}")
            except ValueError as exc:  # the caller's parse error
                last = GatewayError("bad_body", f"{gateway}{path}: {exc}")
        raise last

    def _choose(self, tries: dict[str, int], dead: set[str]) -> tuple[str, float] | None:
        now = time.monotonic()
        with self._lock:
            cooling = {g: max(0.0, self._cooldown.get(g, 0.0) - now) for g in self.gateways}
        live = [g for g in self.gateways if g not in dead]
        order = sorted(live, key=lambda g: (tries[g], cooling[g] > 0, self.gateways.index(g)))
        for gateway in order:
            if cooling[gateway] > self.max_wait_s:
                dead.add(gateway)
                continue
            backoff = self.backoff_s * 2 ** (tries[gateway] - 1) * random.uniform(0.5, 1.5) if tries[gateway] else 0.0
            return gateway, max(cooling[gateway], min(backoff, self.max_wait_s))
        return None

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.max_redirects = self.max_redirects
            adapter = HTTPAdapter(pool_connections=len(self.gateways), pool_maxsize=2, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def _count(self, n: int) -> None:
        with self._lock:
            self.requests += n

    def _request(self, url: str, raw: bool, max_bytes: int, auth: tuple[str, str] | None) -> bytes:
        """One GET (basic `auth`, which requests drops on a redirect to another host) with connect/stall
        timeouts, a total deadline and a size limit."""
        headers = {"Accept": RAW_BLOCK if raw else "*/*", "Accept-Encoding": "identity"}
        deadline = time.monotonic() + self.deadline_s
        self._count(1)
        try:
            response = self._session().get(url, headers=headers, stream=True, auth=auth,
                                          timeout=(self.timeout_s, self.timeout_s))
        except requests.TooManyRedirects:
            self._count(self.max_redirects)  # the hops followed before giving up
            raise GatewayError("redirects", f"{url}: more than {self.max_redirects} redirects", permanent=True) from None
        except requests.ConnectTimeout:
            raise GatewayError("connect_timeout", url) from None
        except requests.ReadTimeout:
            raise GatewayError("stall", f"{url}: no response in {self.timeout_s} s") from None
        except requests.RequestException as exc:
            raise GatewayError("connection", f"{url}: {exc}") from None
        self._count(len(response.history))  # each redirect hop was a request too
        with response:
            if response.status_code != 200:
                raise _status_error(url, response)
            return _read_body(response, url, max_bytes, deadline, self.timeout_s)


class BlockCache:
    """Verified blocks in `folder/<cid>`: a cached block is re-verified when read, a missing or bad one fetched."""

    def __init__(self, folder: Path, fetch: Callable[[Cid], bytes]) -> None:
        self.folder, self.fetch = Path(folder), fetch
        self.folder.mkdir(parents=True, exist_ok=True)

    def get(self, cid: Cid) -> bytes:
        """The block `cid` names, from the cache or `fetch`; only verified bytes are stored."""
        path = self.folder / str(cid)
        if path.is_file():
            block = path.read_bytes()
            if hashlib.sha256(block).digest() == cid.multihash[2:]:
                return block
            path.unlink(missing_ok=True)
        block = self.fetch(cid)
        verify_block(cid, block)
        write_bytes(path, block, durable=True)
        return block


def _checked_file(cid: Cid, body: bytes) -> bytes:
    if not verify_file(cid, body):
        raise CidError(f"{len(body)} bytes do not hash to {cid}")
    return body


def _status_error(url: str, response: requests.Response) -> GatewayError:
    code = response.status_code
    retry_after = _retry_after(response.headers.get("Retry-After")) if code in (429, 503) else None
    permanent = 400 <= code < 500 and code not in (408, 429)
    return GatewayError(f"http_{code}", url, permanent=permanent, retry_after=retry_after)


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date, parsed by urllib3); None when absent
    or malformed."""
    if not value:
        return None
    try:
        return float(Retry().parse_retry_after(value.strip()))
    except InvalidHeader:
        return None


def _read_body(response: requests.Response, url: str, max_bytes: int, deadline: float, timeout_s: float) -> bytes:
    """Stream the body one socket read at a time so stalls, the deadline and the size limit all apply."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise GatewayError("too_large", f"{url}: Content-Length {declared} > {max_bytes}", permanent=True)
    body = bytearray()
    try:
        while chunk := response.raw.read1(_CHUNK, decode_content=True):
            body += chunk
            if len(body) > max_bytes:
                raise GatewayError("too_large", f"{url}: body over {max_bytes} bytes", permanent=True)
            if time.monotonic() > deadline:
                raise GatewayError("deadline", f"{url}: body not complete by the deadline")
    except urllib3.exceptions.ReadTimeoutError:
        raise GatewayError("stall", f"{url}: no bytes for {timeout_s} s") from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise GatewayError("truncated", f"{url}: {exc}") from None
    if declared.isdigit() and not response.headers.get("Content-Encoding") and len(body) != int(declared):
        raise GatewayError("truncated", f"{url}: {len(body)} of {declared} bytes")
    return bytes(body)
