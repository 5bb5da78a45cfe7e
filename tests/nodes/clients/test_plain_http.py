"""The fast lane's plain-http pool: reuse, servers that close idle connections, and the
HTTP/1.1 responses it must read, over real sockets (the mock, or canned bytes)."""

from __future__ import annotations

import asyncio
import gzip
import json
import select
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio
import anyio.lowlevel
import pytest

from grasp_core.errors import ConfigError, RetryableModelError
from grasp_core.mock_server import Latency, MockServer
from grasp_nodes.clients import plain_http
from grasp_nodes.clients.plain_http import PlainHttpPool

pytestmark = pytest.mark.anyio

HEADERS = {"Content-Type": "application/json", "Authorization": "Bearer sk-plain"}


def body(text: str) -> bytes:
    return json.dumps({"model": "m", "messages": [{"role": "user", "content": text}]}).encode()


def reply_text(raw: bytes) -> str:
    return str(json.loads(raw)["choices"][0]["message"]["content"])


async def test_sequential_and_concurrent_calls_reuse_their_connections() -> None:
    """Calls in turn share one connection; a wave of 8 opens 8, and the next wave reuses
    them all; every reply is the one asked for."""
    server = MockServer(latency=Latency.fixed(0.05))
    with server.running() as url:
        pool = PlainHttpPool(url + "/v1/chat/completions", HEADERS, limit=8)
        for i in range(5):
            reply = await pool.post(body(f"turn {i}"), model="m", seconds=30)
            assert (reply.status, reply_text(reply.body)) == (200, f"turn {i}")
        assert (pool.opened, pool.idle) == (1, 1)

        async def one(i: int, out: dict[int, str]) -> None:
            out[i] = reply_text((await pool.post(body(f"wave {i}"), model="m", seconds=30)).body)

        for wave in range(2):
            out: dict[int, str] = {}
            async with anyio.create_task_group() as tg:
                for i in range(8):
                    tg.start_soon(one, i, out)
            assert out == {i: f"wave {i}" for i in range(8)}
            assert (pool.opened, pool.idle) == (8, 8), wave
        await pool.aclose()
    assert len(server.requests()) == 5 + 16


def _wait_until_readable(fileno: int) -> None:
    """Block (the loop too, so it cannot see the close) until the server's close arrives."""
    poller = select.poll()
    poller.register(fileno, select.POLLIN)
    while not poller.poll(10):
        pass


@pytest.mark.parametrize("noticed", [True, False], ids=["close-seen", "close-pending"])
async def test_a_connection_the_server_closed_while_idle_is_replaced_unseen(
    noticed: bool,
) -> None:
    """A server closing an idle keep-alive connection costs the next call nothing: the pool
    sees the close (or the end of file still waiting on the socket) before it writes, opens
    another connection, and the server gets each request once, with no error."""
    server = MockServer(keep_alive=0.05)
    with server.running() as url:
        pool = PlainHttpPool(url + "/v1/chat/completions", HEADERS, limit=4)
        assert (await pool.post(body("first"), model="m", seconds=30)).status == 200
        (idle,) = pool._idle  # the connection the server is about to close
        assert idle.transport is not None
        _wait_until_readable(idle.transport.get_extra_info("socket").fileno())
        if noticed:  # let the loop read the end of file and close our end
            for _ in range(100):
                if idle.closed:
                    break
                await anyio.lowlevel.checkpoint()
        assert idle.closed is noticed  # pending: only the socket knows yet
        reply = await pool.post(body("second"), model="m", seconds=30)
        assert (reply.status, reply_text(reply.body)) == (200, "second")
        assert pool.opened == 2
        await pool.aclose()
    assert [r["status"] for r in server.requests()] == [200, 200]


async def test_a_timed_out_request_leaves_no_connection_behind() -> None:
    """A request over its time is a retryable 408; its connection, out of step with the
    server, is closed, and the next call opens a fresh one."""
    server = MockServer(latency=Latency.fixed(30.0))
    with server.running() as url:
        pool = PlainHttpPool(url + "/v1/chat/completions", HEADERS, limit=4)
        with pytest.raises(RetryableModelError, match=r"timed out after 0\.2s") as caught:
            await pool.post(body("slow"), model="m", seconds=0.2)
        assert caught.value.status == 408
        assert pool.idle == 0


async def test_a_refused_connection_is_a_retryable_connection_error() -> None:
    """Nothing listening is a retryable error of kind ``connection``."""
    with MockServer().running() as url:
        pass  # the port is free again
    pool = PlainHttpPool(url + "/v1/chat/completions", HEADERS, limit=1)
    with pytest.raises(RetryableModelError, match="connection failed") as caught:
        await pool.post(body("x"), model="m", seconds=10)
    assert caught.value.kind == "connection"


@pytest.mark.parametrize("key", ["sk-secret\n", "sk-secrét"])
def test_a_header_that_cannot_be_sent_is_refused_without_showing_it(key: str) -> None:
    """A key read with its newline would split the request, a non-ASCII one cannot be sent:
    one line, the key not in it."""
    headers = {"Authorization": f"Bearer {key}"}
    with pytest.raises(ConfigError, match="line break or a non-ASCII") as caught:
        PlainHttpPool("http://127.0.0.1:9/v1/chat/completions", headers, limit=1)
    assert "sk-secr" not in str(caught.value)


def test_a_url_without_a_usable_port_is_one_line() -> None:
    """``http://host:abc/v1`` is a config error naming the URL, not a traceback."""
    with pytest.raises(ConfigError, match=r"'http://127\.0\.0\.1:abc/v1' is not a plain http URL"):
        PlainHttpPool("http://127.0.0.1:abc/v1", HEADERS, limit=1)


@asynccontextmanager
async def canned(answer: Callable[[int], bytes], *, close: bool) -> AsyncIterator[str]:
    """A server answering its n-th request with ``answer(n)`` (closing after, if ``close``)."""
    served = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal served
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            await reader.readexactly(length)
            writer.write(answer(served))
            served += 1
            await writer.drain()
            if close:
                writer.close()
                return

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/v1/chat/completions"
    finally:
        server.close()


COMPLETION = b'{"choices":[{"message":{"content":"ok"}}]}'


def _chunked(data: bytes) -> bytes:
    return b"%x\r\n%b\r\n%x\r\n%b\r\n0\r\nX-Trailer: t\r\n\r\n" % (
        5,
        data[:5],
        len(data) - 5,
        data[5:],
    )


RESPONSES = {
    "content-length": (b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%b", False, True),
    "chunked": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%b", False, True),
    "until-close": (b"HTTP/1.0 200 OK\r\n\r\n%b", True, False),
    "interim-then-final": (
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%b",
        False,
        True,
    ),
    "gzip": (
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%b",
        False,
        True,
    ),
    "connection-close": (
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%b",
        True,
        False,
    ),
}


@pytest.mark.parametrize("kind", list(RESPONSES))
async def test_each_response_framing_is_read_whole(kind: str) -> None:
    """Content-Length, chunked (with a trailer), read-until-close, an interim 100 before the
    answer, a gzip body and ``Connection: close``: the body is read whole, and the
    connection is kept only when the server lets it be."""
    template, close, kept = RESPONSES[kind]
    data = gzip.compress(COMPLETION) if kind == "gzip" else COMPLETION
    if kind == "chunked":
        raw = template % _chunked(data)
    elif kind == "until-close":
        raw = template % data
    else:
        raw = template % (len(data), data)
    async with canned(lambda _n: raw, close=close) as url:
        pool = PlainHttpPool(url, HEADERS, limit=2)
        for _ in range(2):
            reply = await pool.post(b"{}", model="m", seconds=10)
            assert (reply.status, reply.body) == (200, COMPLETION)
        assert (pool.opened, pool.idle) == ((1, 1) if kept else (2, 0))
        await pool.aclose()


async def test_large_replies_read_at_once_on_many_connections_stay_apart() -> None:
    """Connections read into one buffer their pool shares: replies several times its size,
    arriving on 12 connections at once in pieces, each come back whole and to their own
    request (the server echoes each request's body many times over)."""
    repeats = 3 * plain_http.RECEIVE_BYTES // 20 + 1

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            answer = (await reader.readexactly(length)) * repeats
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(answer))
            for start in range(0, len(answer), 5000):  # in pieces, as a slow server sends
                writer.write(answer[start : start + 5000])
                await writer.drain()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1/chat/completions"
    pool = PlainHttpPool(url, HEADERS, limit=12)
    out: dict[int, bytes] = {}

    async def one(i: int) -> None:
        out[i] = (await pool.post(b"request %08d;" % i, model="m", seconds=60)).body

    try:
        for _ in range(2):
            async with anyio.create_task_group() as tg:
                for i in range(12):
                    tg.start_soon(one, i)
            assert out == {i: b"request %08d;" % i * repeats for i in range(12)}
            assert len(out[0]) > 2 * plain_http.RECEIVE_BYTES
    finally:
        await pool.aclose()
        server.close()


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n{}",
        b"SMTP ready\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
    ids=["cut-short", "not-http", "bad-chunk"],
)
async def test_a_broken_response_is_a_retryable_connection_error(raw: bytes) -> None:
    """A body cut short by the close, a reply that is not HTTP and a malformed chunk are
    retryable connection errors, and their connection is not kept."""
    async with canned(lambda _n: raw, close=True) as url:
        pool = PlainHttpPool(url, HEADERS, limit=2)
        with pytest.raises(RetryableModelError, match="connection failed") as caught:
            await pool.post(b"{}", model="m", seconds=60)
        assert caught.value.kind == "connection"  # the close answered, not the timeout
        assert pool.idle == 0


@pytest.mark.parametrize(("seconds", "lookups"), [(10.0, 1), (0.0, 2)])
async def test_a_host_name_is_looked_up_again_once_its_answer_is_old(
    monkeypatch: pytest.MonkeyPatch, seconds: float, lookups: int
) -> None:
    """A name's address is kept DNS_SECONDS, then looked up again for the next connection
    (a days-long run follows a server that moved); the first wave shares one lookup."""
    monkeypatch.setattr(plain_http, "DNS_SECONDS", seconds)
    server = MockServer()
    with server.running() as url:
        named = url.replace("127.0.0.1", "localhost") + "/v1/chat/completions"
        pool = PlainHttpPool(named, HEADERS, limit=4)
        looked_up: list[str] = []
        real = pool._resolve

        async def resolve(loop: asyncio.AbstractEventLoop) -> list[str]:
            looked_up.append("localhost")
            return await real(loop)

        monkeypatch.setattr(pool, "_resolve", resolve)
        for turn in range(2):
            reply = await pool.post(body(f"turn {turn}"), model="m", seconds=30)
            assert reply_text(reply.body) == f"turn {turn}"
            await pool.aclose()  # the next call opens a new connection
        assert len(looked_up) == lookups


async def test_each_address_of_a_name_is_tried_in_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    """A name whose first address refuses (``localhost`` as ``::1`` to a server listening on
    IPv4 only) is reached on its next one, which later connections then try first."""
    server = MockServer()
    with server.running() as url:
        named = url.replace("127.0.0.1", "localhost") + "/v1/chat/completions"
        pool = PlainHttpPool(named, HEADERS, limit=4)

        async def resolve(loop: asyncio.AbstractEventLoop) -> list[str]:
            return ["127.0.0.9", "127.0.0.1"]  # nothing listens on the first at this port

        monkeypatch.setattr(pool, "_resolve", resolve)
        for turn in range(2):
            reply = await pool.post(body(f"turn {turn}"), model="m", seconds=30)
            assert reply_text(reply.body) == f"turn {turn}"
            assert pool._addresses == ["127.0.0.1", "127.0.0.9"]
            await pool.aclose()
