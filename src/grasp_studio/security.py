"""The Studio's door: every request — the page, its assets, the API and the event streams —
carries the token in its path, and no request from another site gets through.

- The Studio lives under ``/<token>/`` (a capability URL, as ``grasp studio`` prints it):
  every asset, API and event-stream address is relative to it, so the token is never kept
  in a cookie. Cookies are scoped by host, not port, so a cookie would reach every other
  web server on 127.0.0.1; a path goes only where it is sent (and ``Referrer-Policy:
  no-referrer`` keeps it out of the ``Referer`` of links). Anything outside the prefix is a
  401.
- A request whose ``Origin`` is not the address it was sent to (its ``Host``) is refused
  (403), whatever it carries, and so is one the browser marks ``Sec-Fetch-Site:
  cross-site``.
- A state-changing request (anything but GET and HEAD) must be ``application/json``: a
  page elsewhere can send a form or ``text/plain`` without asking, never JSON (415).
- A ``Host`` header that is not this server's (DNS rebinding: a site whose name resolves
  to 127.0.0.1) is refused (403) unless the Studio was bound to that host on purpose.

It is a plain ASGI middleware (not Starlette's ``BaseHTTPMiddleware``) so server-sent
event streams pass through it unbuffered.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ANY_HOST", "LOOPBACK_HOSTS", "SecurityMiddleware"]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
ANY_HOST = "*"
"""In ``hosts``: any ``Host`` header (a Studio bound to every interface, 0.0.0.0)."""
_DEFAULT_PORTS = {"http": 80, "https": 443}
_SAFE_METHODS = ("GET", "HEAD")
_NEEDS_TOKEN = (
    "this Studio needs its token: open the URL `grasp studio` printed (http://HOST:PORT/<token>/)"
)


class SecurityMiddleware:
    """Token, Origin and Host checks in front of ``app``, which is served under
    ``/<token>/`` (the app sees the path after the prefix)."""

    def __init__(self, app: ASGIApp, *, token: str, hosts: Iterable[str] = ()) -> None:
        if not token or "/" in token:
            raise ValueError("the Studio needs a non-empty token without '/'")
        self.app = app
        self.token = token
        self.prefix = f"/{token}"
        self.hosts = frozenset(LOOPBACK_HOSTS | set(hosts))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            await _respond(scope, send, refusal[0], refusal[1])
            return
        path: str = scope["path"]
        given, _, rest = path[1:].partition("/")
        if not self._valid(given):
            await _respond(scope, send, 401, _NEEDS_TOKEN)
            return
        if not rest and not path.endswith("/"):  # /<token>: the page is at /<token>/
            await _redirect(send, self.prefix + "/")
            return
        inner = "/" + rest
        await self.app({**scope, "path": inner, "raw_path": inner.encode()}, receive, send)

    def _valid(self, candidate: str) -> bool:
        return secrets.compare_digest(candidate.encode(), self.token.encode())

    def _refusal(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str] | None:
        """Why the request is refused before its token is looked at, if it is."""
        host = _host_name(headers.get("host", ""))
        if host not in self.hosts and ANY_HOST not in self.hosts:
            return 403, f"host {host!r} is not this Studio's address; open it by its URL"
        origin = headers.get("origin")
        if origin is not None and not _same_origin(origin, headers.get("host", "")):
            return 403, f"cross-site request refused (Origin {origin!r})"
        if headers.get("sec-fetch-site") == "cross-site":
            return 403, "cross-site request refused"
        if scope["type"] == "http" and scope["method"] not in _SAFE_METHODS:
            kind = headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if kind != "application/json":
                return 415, "send the request body as JSON (Content-Type: application/json)"
        return None


def _headers(scope: Scope) -> dict[str, str]:
    return {
        name.decode("latin-1").lower(): value.decode("latin-1")
        for name, value in scope.get("headers", [])
    }


def _same_origin(origin: str, host: str) -> bool:
    """``origin`` names the address the request was sent to (its ``Host``): the page that
    sent it is the Studio's own, whatever port a tunnel maps it to. Loopback names count as
    one (``localhost`` and ``127.0.0.1``)."""
    try:
        parts = urlsplit(origin)
        target = urlsplit(f"//{host}")
        ports = (parts.port or _DEFAULT_PORTS.get(parts.scheme), target.port or 80)
    except ValueError:  # an unparsable port
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname or not target.hostname:
        return False  # "null" (sandboxed frames, local files), or nonsense
    if ports[0] != ports[1]:
        return False
    names = {parts.hostname, target.hostname}
    return len(names) == 1 or names <= LOOPBACK_HOSTS


def _host_name(host: str) -> str:
    """``127.0.0.1:8765`` → ``127.0.0.1``; ``[::1]:8765`` → ``::1``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


async def _redirect(send: Send, target: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 308,
            "headers": [
                (b"location", target.encode("latin-1")),
                (b"cache-control", b"no-store"),
                (b"content-length", b"0"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b""})


async def _respond(scope: Scope, send: Send, status: int, message: str) -> None:
    """A refusal: ``{"error": ...}`` for the API, a line of text otherwise."""
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    if "/api/" in scope["path"]:
        body = json.dumps({"error": message}).encode()
        kind = b"application/json"
    else:
        body = (message + "\n").encode()
        kind = b"text/plain; charset=utf-8"
    start: Message = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", kind),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
        ],
    }
    await send(start)
    await send({"type": "http.response.body", "body": body})
