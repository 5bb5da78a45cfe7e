"""``MockServer(keep_alive=S)`` closes connections idle for S seconds, as real servers do,
and never one that is serving a request."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

from grasp_core.mock_server import MockServer


def _request(text: str) -> bytes:
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": text}]}).encode()
    head = f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def _response(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.startswith(b"Content-Length")
    )
    while len(body) < length:
        body += conn.recv(65536)
    return body


def test_an_idle_connection_is_closed_and_a_busy_one_is_not() -> None:
    """A request slower than ``keep_alive`` is answered whole on its connection; once idle,
    the connection is closed by the server (the client reads its end of file)."""
    server = MockServer(keep_alive=0.05)
    with server.running() as url:
        split = urlsplit(url)
        with socket.create_connection((split.hostname, split.port), timeout=30) as conn:
            for text in ("one [[mock:latency=0.3]]", "two"):
                conn.sendall(_request(text))
                reply = json.loads(_response(conn))
                assert reply["choices"][0]["message"]["content"] == text.split(" [[")[0]
            assert conn.recv(1) == b""  # closed by the server, not by the 30 s guard
