"""SIGINT and SIGTERM for the ``grasp`` program, from the first line of ``main``.

Either one raises ``KeyboardInterrupt``, which ``main`` reports in one line with exit code 130
(``grasp run`` adds the command that resumes): SIGTERM no longer kills the process silently
(its default action), and neither prints a traceback. While a run executes, ``grasp run``
hands the signals to the run, which stops cleanly (``grasp_core.runs.signals``) and puts
these handlers back at its end. A signal that lands in an import, in pydantic or in asyncio
making its loop is raised once that code is done (:mod:`grasp_core._stop_later`). Only
imports of the standard library and that module: this module is loaded before anything
heavy, so a signal during start-up already finds its handler.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from types import FrameType
from typing import Any

from grasp_core._stop_later import sent_again_later

__all__ = ["Handlers", "StopSignal", "ignore", "interrupt", "restore", "unblock"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)

Handlers = dict[int, Any]
"""The handlers a call to :func:`interrupt` replaced, for :func:`restore`."""


def interrupt() -> Handlers:
    """Make SIGINT and SIGTERM raise ``KeyboardInterrupt`` (in the main thread; elsewhere
    nothing changes) and return the handlers they had. Raises nothing itself: call
    :func:`unblock` next, where a pending signal may raise."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous: Handlers = {sig: signal.getsignal(sig) for sig in _SIGNALS}
    for sig in _SIGNALS:
        signal.signal(sig, _raise_interrupt)
    return previous


def unblock() -> None:
    """Unblock the two signals: a process started with them blocked (by a launcher's thread
    that blocked them: children inherit the mask) would otherwise never receive them. One
    sent before :func:`interrupt` arrives now and raises ``KeyboardInterrupt`` here."""
    if threading.current_thread() is threading.main_thread():
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)


def ignore() -> None:
    """Ignore further signals while the first one is reported (a second must not raise in
    the middle of the report)."""
    if threading.current_thread() is threading.main_thread():
        for sig in _SIGNALS:
            signal.signal(sig, _do_nothing)


def restore(previous: Handlers, *, exit_code: int | None) -> None:
    """Put back the handlers from before :func:`interrupt` (``main`` called in-process), or,
    with ``exit_code`` (``main`` is the program, about to exit), let a signal from now on end
    the process at once with that code: what remains is the interpreter's own shutdown, where
    raising would print a traceback."""
    if not previous:
        return
    if exit_code is None:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        return
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # closed, or a reader that went away
            stream.flush()

    def exit_now(_signum: int, _frame: FrameType | None) -> None:
        os._exit(exit_code)

    for sig in _SIGNALS:
        signal.signal(sig, exit_now)


class StopSignal(KeyboardInterrupt):
    """SIGINT or SIGTERM, as :func:`interrupt`'s handler raises it.

    A subclass, so that ``except KeyboardInterrupt`` catches it everywhere. Not the class
    itself: CPython remembers a ``KeyboardInterrupt`` of exactly that class that passed
    through its C entry points (which extension modules call while they are imported) and
    then exits by SIGINT, ignoring the exit code, even after ``main`` caught it."""


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    if sent_again_later(signum, frame):  # see grasp_core._stop_later
        return
    raise StopSignal(signal.Signals(signum).name)


def _do_nothing(_signum: int, _frame: FrameType | None) -> None:
    return None
