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
from types import CodeType, FrameType, TracebackType

__all__ = [
    "calls_user_code",
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


_USER_CODE_CALLERS: set[CodeType] = set()
"""Code of the functions that call plain user functions on the event loop (``run_in:
loop|auto``): :func:`user_code_blocks_the_main_thread` looks for them on the stack."""


def calls_user_code(code: CodeType) -> None:
    """Mark ``code`` as a function that calls a plain user function on the event loop: a
    stop signal landing inside the function it calls interrupts it. Found on the stack when
    a signal comes, so a call costs nothing more (it used to count calls in and out)."""
    _USER_CODE_CALLERS.add(code)


def user_code_blocks_the_main_thread(frame: FrameType | None) -> bool:
    """Whether ``frame``, where a signal interrupted the main thread, is inside a plain user
    function running on the event loop: a stop signal's handler, which runs in that thread,
    must then interrupt it (raise), because the loop cannot act on a noted signal until the
    function returns, which a blocked one (``time.sleep(3600)``, a hung socket) may never
    do. A signal landing in the caller itself (before or after the call) is only noted."""
    caller = frame.f_back if frame is not None else None
    while caller is not None:
        if caller.f_code in _USER_CODE_CALLERS:
            return True
        caller = caller.f_back
    return False
