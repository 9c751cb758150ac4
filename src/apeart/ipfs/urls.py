"""Gateway URLs: the base-URL rule params and the client share, and credentials that are never a param (only
APEART_GATEWAY_AUTH)."""
from __future__ import annotations

import os
from typing import Mapping
from urllib.parse import urlsplit

from apeart.core.cli import mask
from apeart.core.errors import ApeartError

AUTH_ENV = "APEART_GATEWAY_AUTH"
WHERE = f"put gateway credentials in the environment variable {AUTH_ENV}='host[:port]=user:password ...' (docs/ipfs.md)"


class AuthError(ApeartError, ValueError):
    """AUTH_ENV is malformed (the message never repeats it)."""


def gateway_auth(environ: Mapping[str, str] = os.environ) -> dict[str, tuple[str, str]]:
    """{host or host:port: (user, password)} from AUTH_ENV (whitespace-separated `host[:port]=user:password`);
    AuthError, naming the entry by number only, when one is malformed."""
    auth = {}
    for number, entry in enumerate(environ.get(AUTH_ENV, "").split(), 1):
        host, _, userpass = entry.partition("=")
        user, colon, password = userpass.partition(":")
        if not (host and user and colon) or "/" in host or "@" in host:
            raise AuthError(f"{AUTH_ENV}: entry {number} is not host[:port]=user:password")
        auth[host.lower()] = (user, password)
    return auth


def auth_for(url: str, auth: Mapping[str, tuple[str, str]]) -> tuple[str, str] | None:
    """The credentials for `url`'s host: an entry for host:port first, then one for the host alone."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return auth.get(f"{host}:{parts.port}") or auth.get(host)


def normalize_gateway(url: str) -> str:
    """A gateway base URL (http/https, a host, no query, fragment or credentials) without a trailing `/` or
    `/ipfs`; ValueError saying what is wrong (params refuse it, the gateway client normalises with it)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket
        parts, host = None, None
    shown = mask(url)
    if parts is None or parts.scheme not in ("http", "https") or not host:
        raise ValueError(f"gateway {shown!r}: need an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise ValueError(f"gateway {shown!r}: no credentials in a param; {WHERE}")
    if parts.query or parts.fragment:
        raise ValueError(f"gateway {shown!r}: no query or fragment allowed")
    path = parts.path.rstrip("/")
    path = path[: -len("/ipfs")] if path.endswith("/ipfs") else path
    return f"{parts.scheme}://{parts.netloc}{path}"
