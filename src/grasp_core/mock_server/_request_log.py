"""What the mock server saw: one entry per model call, counts by status, and how many
requests were being served at once; readable from any thread, and optionally appended to
a JSON Lines file as they come.

Only the newest :data:`KEEP_REQUESTS` entries stay in memory (a server's ``keep_requests``):
the mock answers benchmarks of hundreds of thousands of calls, and a log of every call
(with its messages) grew it past 500 MB and slowed its collector's full passes, which took
the shared machine's CPU from the client it measures."""

from __future__ import annotations

import asyncio
import collections
import json
import threading
import time
from pathlib import Path
from typing import IO, Any

from grasp_core.mock_server._http import Request
from grasp_core.mock_server._multipart import loggable_form

__all__ = ["KEEP_REQUESTS", "RequestLog"]

KEEP_REQUESTS = 100_000
"""Entries :meth:`RequestLog.entries` keeps by default: the newest ones."""


class RequestLog:
    """The log and counters behind ``MockServer.requests()`` and ``stats()``."""

    def __init__(
        self, path: Path | None, *, log_bodies: bool = False, keep: int = KEEP_REQUESTS
    ) -> None:
        self._path = path
        self._log_bodies = log_bodies
        # Guards everything below: the loop thread writes, any thread reads.
        self._lock = threading.Lock()
        self._entries: collections.deque[dict[str, Any]] = collections.deque(maxlen=keep)
        self._file: IO[str] | None = None
        self._by_status: collections.Counter[str] = collections.Counter()
        self._in_flight = 0
        self._max_in_flight = 0

    def open(self) -> None:
        """Start appending entries to the log file, if there is one."""
        if self._path is not None:
            with self._lock:
                self._file = self._path.open("a", encoding="utf-8")

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def record(
        self,
        path: str,
        model: str | None,
        key: str | None,
        status: int | None,
        fault: str | None,
        messages: list[Any] | None,
        *,
        request: Request | None = None,
    ) -> None:
        """Log one model call (``status`` None: the connection is dropped)."""
        entry: dict[str, Any] = {
            "path": path,
            "model": model,
            "key": key,
            "status": status,
            "fault": fault,
            "messages": messages,
            "received": time.monotonic(),
        }
        if self._log_bodies and request is not None:
            entry["target"] = request.path + (
                "?" + "&".join(f"{k}={v}" for k, v in sorted(request.query.items()))
                if request.query
                else ""
            )
            entry["headers"] = dict(request.headers)
            content_type = request.headers.get("content-type", "")
            entry["body"] = (
                loggable_form(content_type, request.body)
                if content_type.startswith("multipart/")
                else json.loads(request.body)
            )
        with self._lock:
            self._entries.append(entry)
            self._by_status["dropped" if status is None else str(status)] += 1
            if self._file is not None:
                self._file.write(json.dumps(entry) + "\n")
                self._file.flush()

    async def wait(self, seconds: float) -> None:
        """Sleep while counted in flight; cancellation (client gone, stop) still uncounts."""
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        try:
            await asyncio.sleep(seconds)
        finally:
            with self._lock:
                self._in_flight -= 1

    def entries(self) -> list[dict[str, Any]]:
        """A copy of the log (its newest ``keep`` entries), oldest first."""
        with self._lock:
            return [dict(entry) for entry in self._entries]

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": sum(self._by_status.values()),
                "by_status": dict(self._by_status),
                "in_flight": self._in_flight,
                "max_in_flight": self._max_in_flight,
            }

    def clear(self) -> None:
        """Forget the entries and counters (requests in flight stay counted)."""
        with self._lock:
            self._entries.clear()
            self._by_status.clear()
            self._max_in_flight = self._in_flight
