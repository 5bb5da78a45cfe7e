"""A loopback HTTP proxy that records every exchange with the real server and can hold
requests back.

The tests read what the server itself answered (its ``usage``, its replies, its error bodies)
from here, independently of GraSP's own bookkeeping, and a held request is a model call that
is provably in flight when the test kills a run.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Exchange", "RecordingProxy"]

HOLD_LIMIT_S = 600.0
"""A held request gives up after this long (a test that forgets to release it still ends)."""


@dataclass(frozen=True)
class Exchange:
    """One request as the proxy forwarded it and the server's answer."""

    method: str
    path: str
    request: Any
    status: int
    response: Any
    """The JSON body, or the raw text when the body is not JSON."""

    @property
    def user_text(self) -> str:
        """The last user message of a chat request ("" for anything else)."""
        if not isinstance(self.request, dict):
            return ""
        users = [m for m in self.request.get("messages", []) if m.get("role") == "user"]
        content = users[-1].get("content") if users else ""
        return content if isinstance(content, str) else json.dumps(content)


def _json_or_text(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", errors="replace")


class RecordingProxy:
    """Forwards ``/v1/...`` to ``upstream`` and keeps every :class:`Exchange`.

    ``hold_when(exchanges)`` is asked, as each request arrives, with the exchanges so far; when
    it says yes the request waits (it is counted in :attr:`held`) until :meth:`drop_held`,
    which answers it with a 503 without ever sending it to the server."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._lock = threading.Lock()
        self._exchanges: list[Exchange] = []
        self._release = threading.Event()
        self.hold_when: Callable[[list[Exchange]], bool] | None = None
        self.held = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def exchanges(self) -> list[Exchange]:
        with self._lock:
            return list(self._exchanges)

    def clear(self) -> None:
        """Forget the exchanges so far and stop holding requests."""
        with self._lock:
            self._exchanges.clear()
            self.hold_when = None
            self.held = 0
            self._release = threading.Event()

    def drop_held(self) -> None:
        """Answer every held request with a 503 (the client is usually gone by then)."""
        self._release.set()

    def _should_hold(self) -> threading.Event | None:
        with self._lock:
            if self.hold_when is None or not self.hold_when(list(self._exchanges)):
                return None
            self.held += 1
            return self._release

    def _forward(
        self, method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, str, bytes]:
        """Send one request upstream; return its status, content type and body."""
        connection = http.client.HTTPConnection(*self._upstream, timeout=HOLD_LIMIT_S)
        try:
            connection.request(method, path, body=body or None, headers=headers)
            reply = connection.getresponse()
            kind = reply.getheader("Content-Type", "application/json")
            return reply.status, kind, reply.read()
        finally:
            connection.close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the exchanges are the log."""

            def _relay(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                gate = proxy._should_hold()
                if gate is not None:
                    gate.wait(HOLD_LIMIT_S)
                    self._send(503, b'{"error": "dropped by the test proxy"}', "application/json")
                    return
                keep = ("content-type", "authorization", "accept")
                headers = {k: v for k, v in self.headers.items() if k.lower() in keep}
                status, kind, raw = proxy._forward(self.command, self.path, body, headers)
                request = _json_or_text(body) if body else None
                exchange = Exchange(self.command, self.path, request, status, _json_or_text(raw))
                with proxy._lock:
                    proxy._exchanges.append(exchange)
                self._send(status, raw, kind)

            def _send(self, status: int, payload: bytes, kind: str) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client went away (a killed run): nothing to tell it

            def do_GET(self) -> None:
                self._relay()

            def do_POST(self) -> None:
                self._relay()

        return Handler

    @contextmanager
    def running(self) -> Iterator[RecordingProxy]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.drop_held()
            self._server.shutdown()
            self._server.server_close()
            thread.join(timeout=10)
