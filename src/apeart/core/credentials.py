"""Gateway credentials: never a param, only APEART_GATEWAY_AUTH; and no message ever repeats a URL's password."""
from __future__ import annotations

import os
import re
from typing import Mapping
from urllib.parse import urlsplit

AUTH_ENV = "APEART_GATEWAY_AUTH"
WHERE = f"put gateway credentials in the environment variable {AUTH_ENV}='host[:port]=user:password ...' (docs/ipfs.md)"
_USERINFO = re.compile(r"(?<=://)([^\s/@:]*)(:[^\s/]*)?@")


class AuthError(ValueError):
    """AUTH_ENV is malformed (the message never repeats it)."""


def mask(text: str) -> str:
    """`text` with the credentials of every URL in it masked: `http://alice:***@host/` (a bare token: `***@`)."""
    return _USERINFO.sub(lambda m: f"{m[1]}:***@" if m[2] else "***@", text)


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
