"""The ``grasp`` console script: stop signals handled before anything else is imported.

``main`` installs the CLI's own handlers on its first line, but importing the CLI takes tens
of milliseconds; a SIGINT or SIGTERM in that window would end the process with no message
(SIGTERM) or a traceback (SIGINT). This module, imported with nothing but the standard
library and ``grasp_core``'s light package root, covers that window too: the interpreter's
own start-up is all that is left.

After an interrupted command the process ends with ``os._exit``: user code blocked in a
worker thread (a lambda stuck on I/O) would otherwise keep the interpreter waiting for it
at shutdown, long after the run stopped and said how to resume.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from types import FrameType

from grasp_core import _collector

__all__ = ["run"]

_INTERRUPTED_EARLY = 130
"""``grasp_core.cli.options.EXIT_INTERRUPTED``, for a stop before that module is loaded."""


class EarlyStop(KeyboardInterrupt):
    """A stop signal during start-up (a subclass: see ``grasp_core.cli.signals.StopSignal``)."""


def _early_stop(signum: int, _frame: FrameType | None) -> None:
    raise EarlyStop(signal.Signals(signum).name)


def run() -> None:
    """Run the ``grasp`` command line and exit with its code."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _early_stop)
    _collector.pause()  # until the run's engine starts: see grasp_core._collector
    try:
        from grasp_core.cli import main
        from grasp_core.cli.options import EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print("grasp: interrupted", file=sys.stderr)
        sys.exit(_INTERRUPTED_EARLY)
    code = main()
    if code == EXIT_INTERRUPTED:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):  # closed, or a reader gone
                stream.flush()
        os._exit(code)
    sys.exit(code)
