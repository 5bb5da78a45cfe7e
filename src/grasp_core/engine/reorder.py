"""Source order for the output (``ordered``): results wait until every record admitted
before them has gone to the writer.

Records are numbered as they are admitted (in source order, minus those an earlier run
finished). A result that finishes early is held; when the oldest missing one arrives, it
and every held result after it go to the writer in turn. A failed record is a result too,
so it passes in its place and never holds the others back.

The buffer is bounded by the admission window: in ordered mode a record's slot is freed
only when its result leaves the buffer, so at most ``window`` records are admitted and not
yet handed to the writer, running or held. A slow record therefore stalls admission, which
is why completion order stays the default.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio

from grasp_core.engine.writer import RecordResult, ResultSender

__all__ = ["ReorderBuffer"]


class ReorderBuffer:
    """Hands results to ``send`` in admission order; calls ``release`` once per result sent
    (the admission slot it held)."""

    def __init__(self, send: ResultSender, release: Callable[[], None]) -> None:
        self._send = send
        self._release = release
        self._held: dict[int, RecordResult] = {}
        self._next = 0
        self._sending = False

    async def put(self, position: int, result: RecordResult) -> None:
        """Add the result of the record admitted ``position``-th (from 0), and send every
        result that is next in line. While one caller is sending (waiting for room in the
        stream), the others only leave their result: it sends them too, so order holds."""
        self._held[position] = result
        if self._sending:
            return
        self._sending = True
        try:
            while self._next in self._held:
                ready = self._held.pop(self._next)
                self._next += 1
                try:
                    self._send.send_nowait(ready)
                except anyio.WouldBlock:
                    await self._send.send(ready)
                self._release()
        finally:
            self._sending = False
