"""A stop signal that lands in code that would garble it is sent again a moment later.

The ``grasp`` program's stop handler raises ``KeyboardInterrupt`` wherever the signal lands
(:mod:`grasp_core.cli.signals`), until a run puts in its own handler, which only notes it,
except in user code that blocks the event loop, which it interrupts
(:mod:`grasp_core.runs.signals`). Some code turns an exception raised inside it into another
error:

- an import, which may be an extension module's initialisation: pydantic-core's imports
  ``datetime`` from its Rust init and, when that import fails, PyO3 panics (exit code 1, a
  Rust backtrace);
- pydantic building a validator, which reports any exception from the Python it calls as a
  ``SchemaError``;
- asyncio making an event loop, which leaves a half-made loop whose ``__del__`` prints a
  traceback.

So a signal that lands in one of those is not raised there: the same signal is sent to the
process again after :data:`RETRY_S`, and the handler in place by then (the same one, the
run's, or the one that ends the process) receives it once that code is done. Code that holds
a signal back for longer than :data:`GIVE_UP_S` (the run allows an import 5 s: a task module
that hangs while it is imported) gets it where it is: a stop is never lost.
"""

from __future__ import annotations

import os
import threading
import time
from types import FrameType

__all__ = ["GIVE_UP_S", "RETRY_S", "sent_again_later"]

RETRY_S = 0.01
"""Seconds until a signal held back is sent again."""
GIVE_UP_S = 1.0
"""Seconds a signal may be held back in all; past that it is raised where it lands."""
_STALE_S = 1.0
"""A hold whose last signal is older than this is over (its signal reached another handler)."""

_IMPORT_MACHINERY = "<frozen importlib._bootstrap"
_PYDANTIC_DIRS = ("/pydantic/", "/pydantic_core/", "\\pydantic\\", "\\pydantic_core\\")
_ASYNCIO_DIRS = ("/asyncio/", "\\asyncio\\")

_hold: list[float] = []
"""When the current hold of a signal began, and when it last held it back."""


def sent_again_later(signum: int, frame: FrameType | None, *, give_up: float | None = None) -> bool:
    """Whether the signal ``signum``, received with ``frame`` running, landed in code that
    would garble an exception and will be sent again shortly (the handler then returns
    without raising). ``give_up``: seconds it may be held back (default :data:`GIVE_UP_S`)."""
    now = time.monotonic()
    limit = GIVE_UP_S if give_up is None else give_up
    if _hold and now - _hold[1] > _STALE_S:
        _hold.clear()
    if not _in_garbling_code(frame) or (_hold and now - _hold[0] > limit):
        _hold.clear()
        return False
    _hold[:] = [_hold[0] if _hold else now, now]
    timer = threading.Timer(RETRY_S, os.kill, (os.getpid(), signum))
    timer.daemon = True  # a process that ends meanwhile does not wait for it
    timer.start()
    return True


def _in_garbling_code(frame: FrameType | None) -> bool:
    while frame is not None:
        code = frame.f_code
        name = code.co_filename
        if (
            name.startswith(_IMPORT_MACHINERY)
            or any(part in name for part in _PYDANTIC_DIRS)
            or (code.co_name == "__init__" and any(part in name for part in _ASYNCIO_DIRS))
        ):
            return True
        frame = frame.f_back
    return False
