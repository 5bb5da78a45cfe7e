"""Where a sink's ``write`` runs: on the event loop when it is quick, else in a thread.

Every batch the writer commits was written from a worker thread. On one core that hand-off
cost more than writing a JSON Lines batch does: while the thread runs, each turn of the
event loop gives it the GIL and waits to get it back (futex calls, context switches), about
4.6 µs a record in ``benchmarks/bench_overhead.py``, an eighth of the engine's whole cost.

A sink whose ``write`` only appends to a local file, without forcing it to disk, says so with
``quick_writes = True`` (the JSON Lines, JSON and CSV sinks, unless ``fsync`` is set). Its
writes then run on the loop, timed as ``run_in: auto`` times a plain lambda
(:class:`~grasp_core.config.run_in.Placement`): writes that hold the loop (a slow or stalled
disk, very large records) move the sink to worker threads for the rest of the run. The
journal's own appends already run on the loop, so a stalled disk costs the loop no more than
it did. Other sinks (Parquet, Hugging Face, ServiceNow) always write from threads.
"""

from __future__ import annotations

from time import perf_counter
from typing import Any

import anyio.to_thread

from grasp_core.config.run_in import Placement
from grasp_core.protocols import CommitToken, Sink

__all__ = ["SinkWrites"]


class SinkWrites:
    """Calls one sink's ``write`` where it costs least (see the module's docstring)."""

    __slots__ = ("placement", "write")

    def __init__(self, name: str, sink: Sink) -> None:
        self.write = sink.write
        quick = getattr(sink, "quick_writes", False) is True
        self.placement = Placement(
            "auto" if quick else "thread", name=repr(sink), where=f"sink {name!r}", quiet=True
        )

    async def __call__(self, rows: list[dict[str, Any]]) -> CommitToken:
        placement = self.placement
        if not placement.on_loop:
            return await anyio.to_thread.run_sync(self.write, rows)
        started = perf_counter()
        try:
            return self.write(rows)
        finally:
            held = perf_counter() - started
            if held > placement.notice:
                placement.held(held)
