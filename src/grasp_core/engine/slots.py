"""The admission slots of a run in source order: ``window`` of them, as an anyio semaphore.

A record holds a slot from its admission until its result leaves the reorder buffer
(:mod:`.reorder`). When records need no waiting (answered from the response cache, cheap
Python steps), the worker sending results on releases a slot per record and wants one back
at once for its next record. anyio's semaphore hands a released slot to the oldest waiting
worker instead, so every record would cost a wait and a wake: the worker that released it
waits, the woken one runs a single record and releases in turn.

Here a released slot stays free for whoever asks first, and a release wakes the oldest
waiting worker only when no wake is already on its way. The woken worker takes a free slot
if one is left when it runs (and then wakes the next one while slots remain free), or waits
again at the head of the line. A worker that keeps running therefore reuses the slots it
frees, and a burst of releases costs at most one wake; a slot freed while its worker then
waits on a model gets a worker at the next event-loop step, so no slot stays idle while
workers wait.
"""

from __future__ import annotations

from collections import deque

import anyio

__all__ = ["AdmissionSlots"]


class AdmissionSlots:
    """``size`` slots: ``acquire_nowait`` / ``acquire`` / ``release`` as
    :class:`anyio.Semaphore`'s, without its hand-over of a released slot to a waiter."""

    def __init__(self, size: int) -> None:
        self._free = max(1, size)
        self._waiting: deque[anyio.Event] = deque()
        """Workers waiting for a slot, oldest first."""
        self._woken: anyio.Event | None = None
        """The waiting worker a release woke, until it runs (at most one at a time)."""

    @property
    def free(self) -> int:
        """Slots no record holds."""
        return self._free

    def acquire_nowait(self) -> None:
        """Take a free slot, or raise ``anyio.WouldBlock`` when there is none."""
        if not self._free:
            raise anyio.WouldBlock
        self._free -= 1

    async def acquire(self) -> None:
        """Take a slot, waiting until one is free (no checkpoint when one is)."""
        first = True
        while True:
            if self._free:
                self._free -= 1
                self._wake_next()
                return
            event = anyio.Event()
            if first:
                self._waiting.append(event)
            else:  # woken, but the slot was taken again before this worker ran
                self._waiting.appendleft(event)
            first = False
            try:
                await event.wait()
            except BaseException:
                if event is self._woken:
                    self._woken = None
                    self._wake_next()
                else:
                    self._waiting.remove(event)
                raise
            self._woken = None

    def release(self) -> None:
        """Free a slot; wake the oldest waiting worker unless a wake is on its way."""
        self._free += 1
        self._wake_next()

    def _wake_next(self) -> None:
        if self._free and self._waiting and self._woken is None:
            event = self._waiting.popleft()
            self._woken = event
            event.set()
