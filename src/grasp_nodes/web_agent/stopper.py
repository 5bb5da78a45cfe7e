"""Stopping a record's browser session from outside the worker thread that drives it.

The thread cannot be interrupted, and what it waits for may never come: a Playwright call
waits for the page without a time limit (``evaluate`` on a page whose script loops forever
never returns), and a model call runs on the event loop in the worker's shielded scope. When
the record is cancelled (a node timeout, a stop), the :class:`Stopper` kills the browser
process, which makes a waiting Playwright call fail at once, and cancels the model call in
flight; the thread then ends, closing what it opened.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import anyio

__all__ = ["Stopper", "stop_when_cancelled"]


class Stopper:
    """What to kill or cancel if the record is cancelled while its session runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._cancel: Callable[[], None] | None = None
        self._finished = False
        self.stopped = False
        """Whether the session was stopped (the record was cancelled while it ran)."""
        self.expired: float | None = None
        """The seconds of a :meth:`deadline` the page did not answer within, if any."""

    def arm(self, pid: int | None) -> None:
        """The browser process to kill; killed at once if the session was stopped already."""
        with self._lock:
            self._pid = pid
            if self.stopped:
                self._kill()

    def disarm(self) -> None:
        """The browser is closed: nothing to kill any more (its pid may be reused)."""
        with self._lock:
            self._pid = None

    def on_stop(self, cancel: Callable[[], None] | None) -> None:
        """Call ``cancel`` (on the event loop) if the session is stopped while it is set;
        at once if it was stopped already. None: nothing to cancel any more."""
        with self._lock:
            self._cancel = cancel
        if cancel is not None and self.stopped:
            cancel()

    def finish(self) -> None:
        """The session ended by itself: a later :meth:`stop` does nothing."""
        with self._lock:
            self._finished = True

    def stop(self) -> None:
        """Kill the browser (now, or as soon as it has started) and cancel the model call."""
        with self._lock:
            if self._finished:
                return
            self.stopped = True
            self._kill()
            cancel = self._cancel
        if cancel is not None:
            cancel()

    @contextmanager
    def deadline(self, seconds: float) -> Iterator[None]:
        """Kill the browser if the block's Playwright calls take longer than ``seconds``,
        so that a page that never answers fails its record without a node ``timeout``."""

        def expire() -> None:
            with self._lock:
                self.expired = seconds
                self._kill()

        timer = threading.Timer(seconds, expire)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()

    def _kill(self) -> None:
        if self._pid is not None:
            try:
                os.kill(self._pid, getattr(signal, "SIGKILL", signal.SIGTERM))
            except OSError:  # already gone
                self._pid = None


async def stop_when_cancelled(stopper: Stopper) -> None:
    """Wait; when cancelled, stop the session (unless it has finished)."""
    try:
        await anyio.sleep_forever()
    finally:
        stopper.stop()
