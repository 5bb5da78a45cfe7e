"""Where a plain ``def`` runs: on the event loop, or in a worker thread.

A thread hand-off costs tens of microseconds, more than most Python steps' own work, while a
blocking call on the loop stalls every record in flight. So ``run_in: auto`` (the default of
lambdas, edge conditions and hooks) calls a plain function on the loop and times each call:
as soon as a second call holds the loop longer than :data:`SLOW_CALL_SECONDS` (or one call
longer than :data:`BLOCKING_CALL_SECONDS`), or once the median of its first
:data:`PROBE_CALLS` calls is over :data:`PROBE_MEDIAN_SECONDS`, it moves to worker threads for
the rest of the run, with one warning naming where it is used. The times are wall times, and
a busy machine may pause the whole process during a cheap call: one such pause must not move
a cheap function for good, while a function that blocks does so again at once.
``run_in: loop`` keeps it on the loop (one warning if a call holds it over
:data:`LOOP_WARN_SECONDS`); ``run_in: thread`` always uses a thread.
"""

from __future__ import annotations

import statistics
from typing import Literal

from grasp_core.logs import get_logger

__all__ = [
    "BLOCKING_CALL_SECONDS",
    "LOOP_WARN_SECONDS",
    "PROBE_CALLS",
    "PROBE_MEDIAN_SECONDS",
    "SLOW_CALL_SECONDS",
    "Placement",
    "RunIn",
]

RunIn = Literal["auto", "loop", "thread"]
"""Where a plain function runs: measured (``auto``), on the event loop, or in threads."""

PROBE_CALLS = 16
"""How many first calls ``auto`` times before judging a function by their median."""
PROBE_MEDIAN_SECONDS = 0.002
"""A function whose first calls' median holds the loop longer than this moves to threads."""
SLOW_CALL_SECONDS = 0.05
"""A second call holding the loop longer than this moves the function to threads."""
BLOCKING_CALL_SECONDS = 0.5
"""One call holding the loop longer than this moves the function to threads at once."""
LOOP_WARN_SECONDS = 0.01
"""``run_in: loop`` warns once when a call holds the loop longer than this."""

_log = get_logger(__name__)


class Placement:
    """Where one plain function runs now; told how long each call on the loop took."""

    __slots__ = ("_probe", "_quiet", "_slow", "mode", "name", "notice", "on_loop", "where")

    def __init__(self, mode: RunIn, *, name: str, where: str = "", quiet: bool = False) -> None:
        self.mode: RunIn = mode
        self.name = name
        self.where = where
        """What uses the function, for the warning (``node 'clean'``)."""
        self._quiet = quiet
        """Say a move to threads at debug level, with no advice: GraSP's own calls (a sink's
        writes), which the user has nothing to change about."""
        self.on_loop = mode != "thread"
        self._probe: list[float] | None = [] if mode == "auto" else None
        self._slow: float | None = None
        """How long the one call over :data:`SLOW_CALL_SECONDS` so far held the loop."""
        self.notice = 0.0 if mode == "auto" else LOOP_WARN_SECONDS
        """Calls that hold the loop longer than this must be told to :meth:`held` (the
        caller's one comparison per call, once the first calls are judged)."""

    def held(self, seconds: float) -> None:
        """Account one call that held the event loop for ``seconds``."""
        if self.mode == "loop":
            if seconds > LOOP_WARN_SECONDS:
                self.notice = float("inf")  # one warning is enough
                _log.warning(
                    f"{self._label()} held the event loop {seconds * 1000:.0f} ms with "
                    "run_in: loop; use run_in: auto or thread, or make it async",
                    callable=self.name,
                )
            return
        if seconds > SLOW_CALL_SECONDS:
            if seconds > BLOCKING_CALL_SECONDS:
                self._to_threads(f"one call held the event loop {seconds * 1000:.0f} ms")
                return
            if self._slow is not None:
                self._to_threads(
                    f"two calls held the event loop {self._slow * 1000:.0f} ms and "
                    f"{seconds * 1000:.0f} ms"
                )
                return
            self._slow = seconds
        probe = self._probe
        if probe is None:
            return
        probe.append(seconds)
        if len(probe) >= PROBE_CALLS:
            self._probe = None
            self.notice = SLOW_CALL_SECONDS
            median = statistics.median(probe)
            if median > PROBE_MEDIAN_SECONDS:
                self._to_threads(
                    f"its first {PROBE_CALLS} calls held the event loop "
                    f"{median * 1000:.1f} ms each (median)"
                )

    def _to_threads(self, why: str) -> None:
        self.on_loop = False
        self._probe = None
        if self._quiet:
            _log.debug(
                f"{self._label()}: {why}; it runs in worker threads for the rest of the run",
                callable=self.name,
            )
            return
        _log.warning(
            f"{self._label()}: {why}; it runs in worker threads for the rest of the run "
            "(set run_in: thread to skip the measuring, or make it async)",
            callable=self.name,
        )

    def _label(self) -> str:
        return f"{self.where}: {self.name}" if self.where else self.name
