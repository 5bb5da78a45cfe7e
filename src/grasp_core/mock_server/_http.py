"""A minimal HTTP/1.1 server protocol: parse requests, write responses.

This module is a deliberate exception to "anyio everywhere". It is a raw
:class:`asyncio.Protocol` because the mock server must answer thousands of requests per
second on one core, and a framework's per-request overhead would make the mock, not the
code under test, the bottleneck of a benchmark. It always runs on an asyncio loop (its own
thread's loop, or the caller's when ``MockServer.serve`` is awaited).

Supported: keep-alive (HTTP/1.1 default, HTTP/1.0 on request), pipelined requests answered
in order, ``Content-Length`` and ``Transfer-Encoding: chunked`` request bodies,
``Expect: 100-continue``, and chunked (streamed) responses. Not supported, because no model
client needs them: request trailers beyond skipping them, upgrades, and HTTP/2.
"""

from __future__ import annotations

import asyncio
import collections
import http
import ipaddress
import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import parse_qsl, unquote, urlsplit

from grasp_core._chunked import ChunkedBodyTooLargeError, MalformedChunkError, decode_chunked
from grasp_core.errors import ConfigError

__all__ = [
    "DROP",
    "Drop",
    "Handler",
    "HttpProtocol",
    "HttpServer",
    "Request",
    "Response",
    "loopback_address",
]

MAX_HEAD_BYTES: Final = 64 * 1024
MAX_BODY_BYTES: Final = 64 * 1024 * 1024
# Requests parsed but not yet answered on one connection before we stop reading from it.
_MAX_PIPELINED: Final = 32


@dataclass(frozen=True, slots=True)
class Request:
    """One parsed HTTP request."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    """Header names are lowercased; for a repeated header the last value wins."""
    body: bytes
    keep_alive: bool
    received: float | None = None
    """When the request was read whole (``time.monotonic``): a drawn latency counts from
    then, so the mock's own parsing and logging are part of it, as a server's are."""

    def waited(self) -> float:
        """Seconds since the request was read whole (0 when not known)."""
        return 0.0 if self.received is None else time.monotonic() - self.received


@dataclass(frozen=True, slots=True)
class Response:
    """An HTTP response; with ``chunks`` set it is sent with chunked transfer encoding."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    chunks: tuple[bytes, ...] | None = None


@dataclass(frozen=True, slots=True)
class Drop:
    """Returned by a handler to close the connection without sending any response."""


DROP: Final = Drop()

Handler = Callable[[Request], Awaitable[Response | Drop]]


class _BadRequestError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(slots=True)
class _Head:
    method: str
    target: str
    headers: dict[str, str]
    keep_alive: bool
    body_start: int
    content_length: int | None
    chunked: bool
    sent_continue: bool = field(default=False)


def _parse_head(buffer: bytearray, end: int) -> _Head:
    lines = bytes(buffer[:end]).decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise _BadRequestError(400, f"malformed request line {lines[0]!r}")
    method, target, version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise _BadRequestError(400, f"malformed header line {line!r}")
        headers[name.lower()] = value.strip()
    connection = headers.get("connection", "").lower()
    # HTTP/1.1 keeps connections open unless told to close; HTTP/1.0 the other way round.
    keep_alive = "close" not in connection if version != "HTTP/1.0" else "keep-alive" in connection
    chunked = "chunked" in headers.get("transfer-encoding", "").lower()
    content_length: int | None = None
    if not chunked and "content-length" in headers:
        raw = headers["content-length"]
        if not raw.isdigit():
            raise _BadRequestError(400, f"malformed content-length {raw!r}")
        content_length = int(raw)
        if content_length > MAX_BODY_BYTES:
            raise _BadRequestError(413, f"request body of {content_length} bytes is too large")
    return _Head(method, target, headers, keep_alive, end + 4, content_length, chunked)


def _parse_chunked(buffer: bytearray, start: int) -> tuple[bytes, int] | None:
    """Decode a chunked body starting at ``start``; None if it is not complete yet."""
    try:
        return decode_chunked(buffer, start, limit=MAX_BODY_BYTES)
    except MalformedChunkError as exc:
        raise _BadRequestError(400, str(exc)) from None
    except ChunkedBodyTooLargeError:
        raise _BadRequestError(413, "chunked request body is too large") from None


def _make_request(head: _Head, body: bytes) -> Request:
    split = urlsplit(head.target)
    query = dict(parse_qsl(split.query, keep_blank_values=True))
    path = unquote(split.path)
    return Request(head.method, path, query, head.headers, body, head.keep_alive, time.monotonic())


def _status_line(status: int) -> str:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Unknown"
    return f"HTTP/1.1 {status} {phrase}\r\n"


def encode_head(response: Response, *, keep_alive: bool) -> bytes:
    """Status line and headers of ``response``, including the blank line."""
    lines = [_status_line(response.status), "Server: grasp-mock\r\n"]
    lines.append(f"Content-Type: {response.content_type}\r\n")
    if response.chunks is None:
        lines.append(f"Content-Length: {len(response.body)}\r\n")
    else:
        lines.append("Transfer-Encoding: chunked\r\n")
    lines.extend(f"{name}: {value}\r\n" for name, value in response.headers)
    lines.append("Connection: keep-alive\r\n\r\n" if keep_alive else "Connection: close\r\n\r\n")
    return "".join(lines).encode("latin-1")


class HttpProtocol(asyncio.Protocol):
    """One client connection: parse requests, run ``handler`` on each, answer in order;
    with ``keep_alive`` seconds, closed once idle that long (as real servers do)."""

    def __init__(
        self, handler: Handler, connections: set[HttpProtocol], keep_alive: float | None = None
    ) -> None:
        self._handler = handler
        self._keep_alive = keep_alive
        self._idle_timer: asyncio.TimerHandle | None = None
        self._connections = connections
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._head: _Head | None = None
        self._pending: collections.deque[Request] = collections.deque()
        self._task: asyncio.Task[None] | None = None
        self._reading_paused = False
        self._closing = False

    # asyncio.Protocol callbacks --------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._connections.add(self)
        self._idle()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        self._connections.discard(self)
        self._pending.clear()
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        self._buffer += data
        try:
            self._parse_requests()
        except _BadRequestError as exc:
            self._fail(exc.status, str(exc))
            return
        self._start_next()

    # public ----------------------------------------------------------------------------

    def abort(self) -> None:
        """Close the connection at once, abandoning any request in progress."""
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if self._transport is not None:
            self._transport.abort()

    # internals -------------------------------------------------------------------------

    def _parse_requests(self) -> None:
        while True:
            if self._head is None:
                end = self._buffer.find(b"\r\n\r\n")
                if end < 0:
                    if len(self._buffer) > MAX_HEAD_BYTES:
                        raise _BadRequestError(431, "request head is too large")
                    return
                self._head = _parse_head(self._buffer, end)
            head = self._head
            if head.chunked:
                parsed = _parse_chunked(self._buffer, head.body_start)
                if parsed is None:
                    self._maybe_continue(head)
                    return
                body, end_of_message = parsed
            else:
                end_of_message = head.body_start + (head.content_length or 0)
                if len(self._buffer) < end_of_message:
                    self._maybe_continue(head)
                    return
                body = bytes(self._buffer[head.body_start : end_of_message])
            del self._buffer[:end_of_message]
            self._head = None
            self._pending.append(_make_request(head, body))
            if len(self._pending) >= _MAX_PIPELINED and self._transport is not None:
                self._transport.pause_reading()
                self._reading_paused = True

    def _maybe_continue(self, head: _Head) -> None:
        if head.sent_continue or self._transport is None:
            return
        if head.headers.get("expect", "").lower() == "100-continue":
            self._transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        head.sent_continue = True

    def _idle(self) -> None:
        """Close the connection if it stays idle for ``keep_alive`` seconds."""
        if self._keep_alive is not None and self._transport is not None and not self._buffer:
            close = self._transport.close
            self._idle_timer = asyncio.get_running_loop().call_later(self._keep_alive, close)

    def _start_next(self) -> None:
        if self._task is None and not self._pending and not self._closing:
            self._idle()
        if self._task is not None or not self._pending or self._closing:
            return
        request = self._pending.popleft()
        if self._reading_paused and self._transport is not None:
            self._transport.resume_reading()
            self._reading_paused = False
        self._task = asyncio.get_running_loop().create_task(self._answer(request))

    async def _answer(self, request: Request) -> None:
        try:
            reply = await self._handler(request)
        except Exception as exc:  # a handler bug must not leave the client hanging
            error = {"message": f"mock server error: {exc!r}", "type": "server_error", "code": None}
            reply = Response(500, json.dumps({"error": error}).encode())
        self._task = None
        transport = self._transport
        if self._closing or transport is None:
            return
        if isinstance(reply, Drop):
            self.abort()
            return
        keep_alive = request.keep_alive
        head = encode_head(reply, keep_alive=keep_alive)
        if reply.chunks is None:
            transport.write(head + reply.body)
        else:
            transport.write(head)
            for chunk in reply.chunks:
                if chunk:
                    transport.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
            transport.write(b"0\r\n\r\n")
        if not keep_alive:
            self._closing = True
            transport.close()
            return
        self._start_next()

    def _fail(self, status: int, message: str) -> None:
        """Answer a request we could not parse, then close: the stream is out of sync."""
        self._closing = True
        self._pending.clear()
        if self._transport is None:
            return
        error = {"message": message, "type": "invalid_request_error", "code": None}
        response = Response(status, json.dumps({"error": error}).encode())
        self._transport.write(encode_head(response, keep_alive=False) + response.body)
        self._transport.close()


def loopback_address(host: str) -> str:
    """The address to bind for ``host``; refuse anything that is not loopback.

    ``localhost`` binds ``127.0.0.1`` only, so that port 0 cannot pick a different free
    port for IPv4 and IPv6.
    """
    if host == "localhost":
        return "127.0.0.1"
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ConfigError(
            f"the mock server binds loopback only, got host {host!r}; "
            "use '127.0.0.1' (or another 127.x.y.z), 'localhost' or '::1'"
        )
    return host


class HttpServer:
    """A listening socket on the running loop and the connections it accepted."""

    def __init__(self, handler: Handler, keep_alive: float | None = None) -> None:
        self._handler = handler
        self._keep_alive = keep_alive
        self._connections: set[HttpProtocol] = set()
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> int:
        """Bind ``host:port`` (0 picks a free port) and return the bound port; a port that
        cannot be bound (taken, privileged) is one ``ConfigError`` line."""
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(
                lambda: HttpProtocol(self._handler, self._connections, self._keep_alive),
                host,
                port,
                reuse_address=True,
                backlog=1024,
            )
        except OSError as exc:
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            raise ConfigError(
                f"the mock server cannot listen on {host}:{port}: {reason}; another server "
                "may be running there: choose another port (--port; 0 picks a free one)"
            ) from exc
        port_: int = self._server.sockets[0].getsockname()[1]
        return port_

    async def close(self) -> None:
        """Stop listening and abort every open connection and the request it is serving."""
        if self._server is None:
            return
        self._server.close()
        for connection in list(self._connections):
            connection.abort()
        await self._server.wait_closed()
