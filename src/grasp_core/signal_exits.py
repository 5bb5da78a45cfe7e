"""Tell an exit that a signal handler raised from one that user code raised.

A Python signal handler runs in the main thread between two bytecodes of whatever runs
there: often a node's code. Ray's workers (and every driver after ``ray.init``) answer
SIGTERM with ``sys.exit(1)``, and many programs that embed GraSP do the same. Raised inside
a lambda, that ``SystemExit`` looks just like the lambda calling ``sys.exit``, which fails
its record: a record would then be failed, journaled and never retried for a stop that was
not its own. The handler's frame is in the exception's traceback, which tells them apart:
such an exit ends the run as its handler asked, and the record is left for ``--resume``.
"""

from __future__ import annotations

import signal
import threading
from types import CodeType, TracebackType

__all__ = [
    "enter_user_code",
    "leave_user_code",
    "raised_by_signal_handler",
    "user_code_blocks_the_main_thread",
]

_SIGNALS = tuple(
    getattr(signal, name)
    for name in ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM")
    if hasattr(signal, name)
)


def raised_by_signal_handler(exc: BaseException) -> bool:
    """Whether ``exc`` was raised inside one of this process's Python signal handlers (or
    a function such a handler called)."""
    handlers = _handler_codes()
    if not handlers:
        return False
    tb: TracebackType | None = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code in handlers:
            return True
        tb = tb.tb_next
    return False


def _handler_codes() -> set[CodeType]:
    codes: set[CodeType] = set()
    for number in _SIGNALS:
        try:
            handler = signal.getsignal(number)
        except (ValueError, OSError):  # pragma: no cover - a signal this platform lacks
            continue
        function = getattr(handler, "__func__", handler)  # a bound method's function
        function = getattr(function, "func", function)  # functools.partial
        code = getattr(function, "__code__", None)
        if isinstance(code, CodeType):
            codes.add(code)
    return codes


_on_loop = 0
"""How many plain user functions run on the event loop right now (``run_in: loop|auto``)."""
_on_loop_thread: int | None = None


def enter_user_code() -> None:
    """A plain user function starts on the event loop's thread (called around it, so a stop
    signal can interrupt it: see :func:`user_code_blocks_the_main_thread`)."""
    global _on_loop, _on_loop_thread
    _on_loop += 1
    _on_loop_thread = threading.get_ident()


def leave_user_code() -> None:
    """The plain user function :func:`enter_user_code` announced has returned or raised."""
    global _on_loop
    _on_loop -= 1


def user_code_blocks_the_main_thread() -> bool:
    """Whether a plain user function runs on the event loop in the main thread now: a stop
    signal's handler, which runs in that thread, must then interrupt it (raise), because
    the loop cannot act on a noted signal until the function returns, which a blocked
    one (``time.sleep(3600)``, a hung socket) may never do."""
    return _on_loop > 0 and _on_loop_thread == threading.main_thread().ident
