"""Keep-alive HTTP/1.1 over plain TCP: the fast lane's transport for ``http://`` endpoints.

Local servers (vLLM, llama.cpp, the mock) speak plain HTTP on the same machine or network.
For them aiohttp is measured cost with no use: importing it (two TLS contexts loaded with the
system's CA store, a plain-http run included) takes ~120 ms on the event loop at a run's first
call, and each request ~140 µs of CPU (request and response objects, header multidicts, URL
parsing, timers). A completion needs only this subset of HTTP/1.1: one request at a time per
connection, a ``Content-Length`` or chunked (or read-until-close) response, keep-alive.
``https://`` endpoints, proxies and multipart bodies stay with aiohttp.

Like the mock server's protocol (``grasp_core.mock_server._http``), this is a raw
:class:`asyncio.Protocol` rather than anyio streams, for the per-request cost; the fast lane is
asyncio-only already (under trio its calls go through litellm).

A server closes keep-alive connections it finds idle (uvicorn after 5 s, nginx after 75 s).
A pooled connection is checked before it is reused: one the server closed (its end of file is
read, or waiting to be) is dropped and the request goes on another, so such a close never
reaches the caller. A connection that closes after the request went out is an error to the
caller (its retries decide): the server may have read, and billed, the request.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ipaddress
import select
import socket
import sys
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import anyio

from grasp_core.errors import ConfigError, RetryableModelError
from grasp_core.plugin import decode_chunked

__all__ = ["PlainHttpPool", "Reply", "ResponseError"]


DNS_SECONDS = 10.0
"""How long a host name's address is used before it is looked up again."""
RECEIVE_BYTES = 65536
"""The buffer a pool's connections read into; each read is copied out of it at once."""
_SHARED_RECEIVE = sys.platform != "win32"
"""Whether a pool's connections may share one receive buffer (see :class:`_Connection`)."""


class ResponseError(ConnectionError):
    """The server closed the connection before a whole response, or sent one we cannot read."""


@dataclass(frozen=True, slots=True)
class Reply:
    """One response: its status, headers (names lowercased) and decoded body."""

    status: int
    headers: dict[str, str]
    body: bytes
    keep_alive: bool


class _ReplyReader:
    """Reads one response from the bytes a connection receives, as they come."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self._head: tuple[int, dict[str, str], bool] | None = None
        self._body_start = 0

    def feed(self, data: bytes | memoryview, *, eof: bool = False) -> Reply | None:
        """The response, once ``data`` completes it (``eof``: the server closed)."""
        self.buffer += data
        if self._head is None and not self._read_head():
            if eof:
                raise ResponseError("the server closed the connection before a response")
            return None
        assert self._head is not None
        status, headers, keep_alive = self._head
        body = self._body(headers, status, eof=eof)
        if body is None:
            if eof:
                raise ResponseError("the server closed the connection mid-response")
            return None
        framed = (
            status in (204, 304) or "content-length" in headers or "chunked" in _coding(headers)
        )
        return Reply(status, headers, _decoded(body, headers), keep_alive and framed and not eof)

    def _read_head(self) -> bool:
        while True:
            end = self.buffer.find(b"\r\n\r\n", self._body_start)
            if end < 0:
                return False
            lines = bytes(self.buffer[self._body_start : end]).decode("latin-1").split("\r\n")
            version, _, rest = lines[0].partition(" ")
            code = rest[:3]
            if not version.startswith("HTTP/1.") or not code.isdigit():
                raise ResponseError(f"not an HTTP/1.1 response: {lines[0][:80]!r}")
            self._body_start = end + 4
            if code.startswith("1"):  # an interim response (100 Continue): the real one follows
                continue
            headers = {}
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if sep:
                    headers[name.strip().lower()] = value.strip()
            connection = headers.get("connection", "").lower()
            if version == "HTTP/1.0":
                keep_alive = "keep-alive" in connection
            else:
                keep_alive = "close" not in connection
            self._head = (int(code), headers, keep_alive)
            return True

    def _body(self, headers: dict[str, str], status: int, *, eof: bool) -> bytes | None:
        start = self._body_start
        if status in (204, 304):
            return b""
        if "chunked" in _coding(headers):
            return _chunked(self.buffer, start)
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                raise ResponseError(f"malformed content-length {length[:40]!r}")
            end = start + int(length)
            return bytes(self.buffer[start:end]) if len(self.buffer) >= end else None
        return bytes(self.buffer[start:]) if eof else None  # the body runs to the close


def _coding(headers: dict[str, str]) -> str:
    return headers.get("transfer-encoding", "").lower()


def _chunked(buffer: bytearray, start: int) -> bytes | None:
    """A chunked body from ``start``; None until its last chunk and trailers are in."""
    try:
        decoded = decode_chunked(buffer, start)
    except ValueError as exc:
        raise ResponseError(str(exc)) from None
    return None if decoded is None else decoded[0]


def _decoded(body: bytes, headers: dict[str, str]) -> bytes:
    """``body`` without a gzip or deflate content coding (we ask for none; a server may)."""
    coding = headers.get("content-encoding", "identity").lower()
    try:
        if coding == "gzip":
            return zlib.decompress(body, 16 + zlib.MAX_WBITS)
        if coding == "deflate":
            return zlib.decompress(body)
    except zlib.error as exc:
        raise ResponseError(f"a {coding} body that does not decompress ({exc})") from exc
    return body


class _Connection(asyncio.BufferedProtocol):
    """One TCP connection: sends a request, reads its response.

    Reads land in ``receive``, a buffer the pool's connections share. A plain
    ``asyncio.Protocol`` gets each read as a new ``bytes``, for which asyncio allocates its
    whole read size (256 KiB) and then shrinks it: one such allocation per response left the
    C allocator's heap in pieces, and a 200,000-call run's memory grew by ~10 MB. Sharing is
    safe where the loop calls ``get_buffer`` and ``buffer_updated`` back to back (selector
    loops, uvloop); Windows' proactor loop holds the buffer while a read is pending, so there
    each connection has its own."""

    def __init__(self, receive: memoryview) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._receive = receive
        self._reader = _ReplyReader()
        self._waiter: asyncio.Future[Reply] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._receive

    def buffer_updated(self, nbytes: int) -> None:
        waiter = self._waiter
        data = self._receive[:nbytes]
        if waiter is None or waiter.done():  # bytes nobody asked for: the stream is out of sync
            self.abort()
            return
        try:
            reply = self._reader.feed(data)
        except ResponseError as exc:
            waiter.set_exception(exc)
            self.abort()
            return
        if reply is not None:
            waiter.set_result(reply)

    def eof_received(self) -> bool:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            try:
                reply = self._reader.feed(b"", eof=True)
            except ResponseError as exc:
                waiter.set_exception(exc)
            else:
                assert reply is not None  # feed() raises at the end of file or returns one
                waiter.set_result(reply)
        return False  # close our end too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            reason = f" ({type(exc).__name__}: {exc})" if exc is not None else ""
            waiter.set_exception(ResponseError(f"the server closed the connection{reason}"))

    async def request(self, data: bytes) -> Reply:
        """Send ``data`` (a whole request) and wait for the response."""
        assert self.transport is not None
        self._reader = _ReplyReader()
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await self._waiter

    def reusable(self) -> bool:
        """Open, and nothing to read while idle: data or an end of file pending on an idle
        connection means the server closed it (or broke the protocol)."""
        transport = self.transport
        if self.closed or transport is None or transport.is_closing():
            return False
        poller = select.poll()
        poller.register(transport.get_extra_info("socket").fileno(), select.POLLIN)
        return not poller.poll(0)

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


class PlainHttpPool:
    """Keep-alive connections to the origin of one ``http://`` URL, POSTing to that URL.

    Connections are opened as requests need them (no resolver thread for an IP address; a
    host name is resolved once) and kept for reuse, up to ``limit`` idle ones. Requests
    waiting for a connection get them first come, first served, whichever connect
    finishes first: the first wave goes out in the order the engine sent it."""

    def __init__(self, url: str, headers: Mapping[str, str], *, limit: int) -> None:
        split = urlsplit(url)
        try:
            port = split.port or 80
        except ValueError:  # a port that is not a number
            port = 0
        if split.scheme != "http" or not split.hostname or not port:
            raise ConfigError(f"{url!r} is not a plain http URL with a host and a port")
        self._host, self._port = split.hostname, port
        target = (split.path or "/") + (f"?{split.query}" if split.query else "")
        host = f"[{self._host}]" if ":" in self._host else self._host
        lines = [f"POST {target} HTTP/1.1", f"Host: {host}:{self._port}", "Accept: */*"]
        for name, value in headers.items():
            if "\r" in value or "\n" in value or not value.isascii():  # a key: never shown
                raise ConfigError(
                    f"the {name!r} header for {url!r} holds a line break or a non-ASCII "
                    "character (an API key read with its newline?); fix the key"
                )
            lines.append(f"{name}: {value}")
        self._head = ("\r\n".join(lines) + "\r\nContent-Length: ").encode("ascii")
        self._limit = limit
        self._idle: list[_Connection] = []
        self._waiting: collections.deque[asyncio.Future[_Connection]] = collections.deque()
        self._addresses: list[str] = []
        self._resolved_at = 0.0
        """When a host name was last resolved: the answer is kept ``DNS_SECONDS``, as
        aiohttp keeps it, so a days-long run follows a server that moved."""
        self._resolving = anyio.Lock()
        self._receive = memoryview(bytearray(RECEIVE_BYTES if _SHARED_RECEIVE else 0))
        self.opened = 0
        """Connections opened so far."""

    async def post(self, body: bytes, *, model: str, seconds: float) -> Reply:
        """POST ``body``; a request over ``seconds`` or a failed connection raises a
        retryable error, as the aiohttp lane does."""
        data = b"%b%d\r\n\r\n%b" % (self._head, len(body), body)
        try:
            with anyio.fail_after(seconds):
                connection = self._reused() or await self._connected()
                try:
                    reply = await connection.request(data)
                except BaseException:  # cancelled or failed mid-response: out of sync
                    connection.abort()
                    raise
        except TimeoutError as exc:
            raise RetryableModelError(
                f"model {model!r}: request timed out after {seconds:g}s", status=408
            ) from exc
        except OSError as exc:  # ResponseError and refused or reset connections
            raise RetryableModelError(
                f"model {model!r}: connection failed ({type(exc).__name__}: {exc})",
                kind="connection",
            ) from exc
        if reply.keep_alive:
            self._release(connection)
        else:
            connection.abort()
        return reply

    @property
    def idle(self) -> int:
        """Connections kept open for the next requests."""
        return len(self._idle)

    def _reused(self) -> _Connection | None:
        """The most recently used idle connection the server has not closed."""
        while self._idle:
            connection = self._idle.pop()
            if connection.reusable():
                return connection
            connection.abort()
        return None

    async def _connected(self) -> _Connection:
        """A connection for a request that found none idle. Each such request opens one,
        and takes the first that comes free (its own, or another's) in its turn: every
        waiting request has a connect of its own under way, so none waits on nothing."""
        turn: asyncio.Future[_Connection] = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            self._release(await self._connect())
            return await turn
        except BaseException:  # failed or cancelled: what we were handed goes to the next
            if turn.done() and not turn.cancelled():
                self._release(turn.result())
            with contextlib.suppress(ValueError):
                self._waiting.remove(turn)
            raise

    def _release(self, connection: _Connection) -> None:
        """Hand ``connection`` to the longest-waiting request, or keep it idle."""
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(connection)
                return
        if len(self._idle) < self._limit:
            self._idle.append(connection)
        else:
            connection.abort()

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        if not self._addresses or loop.time() - self._resolved_at > DNS_SECONDS:
            async with self._resolving:  # the first wave's connections share one lookup
                if not self._addresses or loop.time() - self._resolved_at > DNS_SECONDS:
                    self._addresses = await self._resolve(loop)
                    self._resolved_at = loop.time()
        addresses = self._addresses
        for address in addresses:  # as aiohttp does: each address in turn
            try:
                _, connection = await loop.create_connection(
                    self._new_connection, address, self._port
                )
            except OSError:
                if address == addresses[-1]:
                    raise
                continue
            if address != addresses[0] and addresses is self._addresses:  # try it first next
                self._addresses = [address, *(a for a in addresses if a != address)]
            self.opened += 1
            return connection
        raise AssertionError("unreachable: a lookup gives an address or raises")

    def _new_connection(self) -> _Connection:
        receive = self._receive if _SHARED_RECEIVE else memoryview(bytearray(RECEIVE_BYTES))
        return _Connection(receive)

    async def _resolve(self, loop: asyncio.AbstractEventLoop) -> list[str]:
        """The addresses to connect to: an IP address as it is, a name's looked up (a name
        such as ``localhost`` may give ``::1`` first to a server listening on IPv4 only)."""
        try:
            ipaddress.ip_address(self._host)
        except ValueError:
            infos = await loop.getaddrinfo(self._host, self._port, type=socket.SOCK_STREAM)
            found = list(dict.fromkeys(str(info[4][0]) for info in infos))
            if not found:
                raise OSError(f"cannot resolve {self._host!r}") from None
            return found
        return [self._host]

    async def aclose(self) -> None:
        """Close the idle connections."""
        for connection in self._idle:
            connection.abort()
        self._idle.clear()
