"""A bound on the Studio's open event streams: each one polls its run's files on a timer, so
a page (or a script) opening them without end would spend the machine's CPU. One past
:data:`MAX_STREAMS` is answered ``429`` at once; a stream frees its place when it ends (the
client leaves). A plain ASGI middleware, so the streams pass through it unbuffered."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["MAX_STREAMS", "StreamLimit"]

MAX_STREAMS = 16
"""Event streams open at once (a browser opens one per run view)."""
_STREAM_PATHS = frozenset({"/api/runs/events"})


class StreamLimit:
    """At most ``limit`` requests to an event-stream path in flight in front of ``app``."""

    def __init__(self, app: ASGIApp, *, limit: int = MAX_STREAMS) -> None:
        self.app = app
        self.limit = limit
        self.open = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in _STREAM_PATHS:
            await self.app(scope, receive, send)
            return
        if self.open >= self.limit:
            message = f"{self.limit} event streams are open already; close a run view's tab"
            body = json.dumps({"error": message}).encode()
            headers = [(b"content-type", b"application/json"), (b"retry-after", b"5")]
            await send({"type": "http.response.start", "status": 429, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        self.open += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.open -= 1
