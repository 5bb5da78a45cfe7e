"""The Studio's door: every request — the page, its assets, the API and the event streams —
needs the token, and no request from another site gets through.

- The token comes in the URL once (``/?token=...``, as ``grasp studio`` prints it); the
  answer is a redirect to the same address without it, setting an ``HttpOnly``,
  ``SameSite=Strict`` cookie that carries it from then on. A ``token`` query parameter is
  also accepted on any request (scripts, ``curl``).
- A request whose ``Origin`` is not the address it was sent to (its ``Host``) is refused
  (403), whatever it carries, and so is one the browser marks ``Sec-Fetch-Site:
  cross-site``.
- A ``Host`` header that is not this server's (DNS rebinding: a site whose name resolves
  to 127.0.0.1) is refused (403) unless the Studio was bound to that host on purpose.

It is a plain ASGI middleware (not Starlette's ``BaseHTTPMiddleware``) so server-sent
event streams pass through it unbuffered.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ANY_HOST", "LOOPBACK_HOSTS", "SecurityMiddleware", "cookie_name"]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
ANY_HOST = "*"
"""In ``hosts``: any ``Host`` header (a Studio bound to every interface, 0.0.0.0)."""
_DEFAULT_PORTS = {"http": 80, "https": 443}
_TOKEN_PARAM = "token"


def cookie_name(port: int | None) -> str:
    """The cookie holding the token: one per port, so two Studios on one machine do not
    overwrite each other's (cookies are shared across the ports of a host)."""
    return f"grasp_studio_{port}" if port else "grasp_studio"


class SecurityMiddleware:
    """Token, Origin and Host checks in front of ``app``."""

    def __init__(self, app: ASGIApp, *, token: str, hosts: Iterable[str] = ()) -> None:
        if not token:
            raise ValueError("the Studio needs a non-empty token")
        self.app = app
        self.token = token
        self.hosts = frozenset(LOOPBACK_HOSTS | set(hosts))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        port = _port(scope)
        refusal = self._refusal(headers)
        if refusal is not None:
            await _respond(scope, send, refusal[0], refusal[1])
            return
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), True)
        given = dict(query).get(_TOKEN_PARAM)
        cookie = _cookie(headers.get("cookie", ""), cookie_name(port))
        if given is not None and self._valid(given):
            kept = [(k, v) for k, v in query if k != _TOKEN_PARAM]
            if scope["type"] == "http" and scope["method"] == "GET" and _is_page(scope):
                await self._redirect_without_token(scope, send, kept, port)
                return
            await self.app(scope, receive, send)
            return
        if cookie is not None and self._valid(cookie):
            await self.app(scope, receive, send)
            return
        await _respond(
            scope,
            send,
            401,
            "this Studio needs its token: open the URL `grasp studio` printed (it ends in "
            "?token=...)",
        )

    def _valid(self, candidate: str) -> bool:
        return secrets.compare_digest(candidate.encode(), self.token.encode())

    def _refusal(self, headers: dict[str, str]) -> tuple[int, str] | None:
        """Why the request is refused before its token is looked at, if it is."""
        host = _host_name(headers.get("host", ""))
        if host not in self.hosts and ANY_HOST not in self.hosts:
            return 403, f"host {host!r} is not this Studio's address; open it by its URL"
        origin = headers.get("origin")
        if origin is not None and not _same_origin(origin, headers.get("host", "")):
            return 403, f"cross-site request refused (Origin {origin!r})"
        if headers.get("sec-fetch-site") == "cross-site":
            return 403, "cross-site request refused"
        return None

    async def _redirect_without_token(
        self, scope: Scope, send: Send, kept: list[tuple[str, str]], port: int | None
    ) -> None:
        target = scope.get("root_path", "") + scope["path"]
        if kept:
            target += "?" + urlencode(kept)
        cookie = f"{cookie_name(port)}={self.token}; HttpOnly; SameSite=Strict; Path=/"
        await send(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [
                    (b"location", target.encode("latin-1")),
                    (b"set-cookie", cookie.encode("latin-1")),
                    (b"cache-control", b"no-store"),
                    (b"content-length", b"0"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})


def _headers(scope: Scope) -> dict[str, str]:
    return {
        name.decode("latin-1").lower(): value.decode("latin-1")
        for name, value in scope.get("headers", [])
    }


def _port(scope: Scope) -> int | None:
    server = scope.get("server")
    return int(server[1]) if server and server[1] is not None else None


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


def _cookie(header: str, name: str) -> str | None:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except Exception:  # a malformed Cookie header: as if none was sent
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None


def _is_page(scope: Scope) -> bool:
    """A request a person opens in the address bar (not the API, not an asset)."""
    path: str = scope["path"]
    return not path.startswith(("/api/", "/static/"))


async def _respond(scope: Scope, send: Send, status: int, message: str) -> None:
    """A refusal: ``{"error": ...}`` for the API, a line of text otherwise."""
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    if scope["path"].startswith("/api/"):
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
