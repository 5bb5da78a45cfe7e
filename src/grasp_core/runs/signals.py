"""SIGINT and SIGTERM while a run executes, when ``RunOptions.handle_signals`` is on (the CLI
sets it): the run stops cleanly — nothing more is admitted, what finished is committed — and
its result says it was interrupted, wherever the signal lands.

A Python signal handler runs between any two bytecodes, even inside the event loop's own
code, so the handler only notes the signal; a task beside the engine polls the note and asks
the engine to stop. A signal noted before the engine starts stops it before it admits a
record. A plain user function running on the loop (``run_in: auto|loop``) is interrupted
instead: it may never return to let the loop poll. The handlers are Python functions from
start to end (the ones from before are put back after), so the process is never left with
the default action that kills it.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any

import anyio

from grasp_core._stop_later import sent_again_later
from grasp_core.logs import get_logger
from grasp_core.signal_exits import user_code_blocks_the_main_thread

if TYPE_CHECKING:
    from grasp_core.engine import Engine

__all__ = ["StopSignals"]

_SIGNALS: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)
_IMPORT_GIVE_UP_S = 5.0
"""Seconds a stop may wait for an import the run makes to finish (``grasp_core._stop_later``):
a task module slow to import (torch: seconds) finishes and the run stops cleanly; one that
hangs is interrupted."""
_POLL_SECONDS = 0.05
"""How often the run looks at the note: the most a stop waits for it."""
_log = get_logger(__name__)


class StopSignals:
    """Notes the first SIGINT or SIGTERM while :meth:`installed`; :meth:`stop_engine` acts on it."""

    def __init__(self) -> None:
        self.received: int | None = None

    @contextlib.contextmanager
    def installed(self, enabled: bool) -> Iterator[StopSignals]:
        """Handle the signals inside the block (when ``enabled``, and in the main thread: only
        it may set handlers); the handlers from before are restored at its end."""
        if not enabled or threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous: dict[int, Any] = {sig: signal.getsignal(sig) for sig in _SIGNALS}
        try:
            for sig in _SIGNALS:
                signal.signal(sig, self._note)
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, signal.SIG_DFL if handler is None else handler)

    def _note(self, signum: int, frame: FrameType | None) -> None:
        if self.received is None:
            self.received = int(signum)
        if user_code_blocks_the_main_thread(frame) and not sent_again_later(
            signum, frame, give_up=_IMPORT_GIVE_UP_S
        ):
            # the loop cannot poll the note until this call returns: interrupt it, and the
            # node stops the run as user code's KeyboardInterrupt does (its record is left);
            # not inside an import or pydantic, which would garble it (grasp_core._stop_later)
            raise KeyboardInterrupt

    async def stop_engine(self, engine: Engine) -> None:
        """Wait for a signal, then stop ``engine`` (run beside it, cancelled when it ends)."""
        # an Event cannot be set from a signal handler safely (it may run inside the loop's
        # own code); reading a noted number can
        while self.received is None:  # noqa: ASYNC110 - see the comment above
            await anyio.sleep(_POLL_SECONDS)
        _log.warning(
            "stopping: finishing what is committed; run again with --resume",
            signal=signal.Signals(self.received).name,
        )
        engine.request_stop()
