"""The ``grasp`` console script: stop signals held back before anything else is imported.

``main`` installs the CLI's own handlers on its first line, but importing the CLI takes tens
of milliseconds; a SIGINT or SIGTERM in that window would end the process with no message
(SIGTERM) or a traceback (SIGINT). This module, imported with nothing but the standard
library and ``grasp_core``'s light package root, blocks both signals through that window:
``main`` unblocks them once its handlers are in and the command is parsed (as for a launcher
that started it with them blocked), so a signal sent meanwhile ends the command with exit
code 130 and the message that names it. Blocked, not raised: an exception raised inside an
import may land in an extension module's initialisation, which turns it into another error
(see :mod:`grasp_core._stop_later`). The interpreter's own start-up is all that is left.

After an interrupted command the process ends with ``os._exit``: user code blocked in a
worker thread (a lambda stuck on I/O) would otherwise keep the interpreter waiting for it
at shutdown, long after the run stopped and said how to resume.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

from grasp_core import _collector

__all__ = ["run"]


def run() -> None:
    """Run the ``grasp`` command line and exit with its code."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    _collector.pause()  # until the run's engine starts: see grasp_core._collector
    from grasp_core.cli import main
    from grasp_core.cli.options import EXIT_INTERRUPTED

    code = main()  # unblocks the signals (grasp_core.cli.signals.unblock)
    if code == EXIT_INTERRUPTED:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):  # closed, or a reader gone
                stream.flush()
        os._exit(code)
    sys.exit(code)
