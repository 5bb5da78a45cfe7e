"""Where the writer calls a sink's ``write``: on the event loop for a sink that says its
writes are quick (local appends, no fsync) until a write holds the loop, else in a worker
thread. Either way every row is written once, in order."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from grasp_core.config.run_in import BLOCKING_CALL_SECONDS
from grasp_core.engine.sink_writes import SinkWrites
from grasp_core.protocols import CommitToken
from grasp_io.sinks import CsvSink, JsonArraySink, JsonlSink

pytestmark = pytest.mark.anyio


class ThreadNotingSink:
    """Keeps its rows and the thread each write ran in; ``pause`` makes the first write
    block that long (a stalled disk)."""

    def __init__(self, *, quick: bool | None, pause: float = 0.0) -> None:
        if quick is not None:
            self.quick_writes = quick
        self.pause = pause
        self.rows: list[dict[str, Any]] = []
        self.threads: list[int] = []

    def restore(self, committed: list[CommitToken]) -> None:
        self.rows.clear()

    def write(self, records: list[dict[str, Any]]) -> CommitToken:
        self.threads.append(threading.get_ident())
        if self.pause and len(self.threads) == 1:
            time.sleep(self.pause)
        self.rows.extend(records)
        return {"count": len(records)}

    def finalize(self) -> list[Path]:
        return []

    def close(self) -> None:
        """Nothing to release."""


async def write_batches(writes: SinkWrites, batches: int) -> None:
    for batch in range(batches):
        token = await writes([{"id": f"{batch}-{i}"} for i in range(3)])
        assert token == {"count": 3}


async def test_a_quick_sink_writes_on_the_event_loop() -> None:
    sink = ThreadNotingSink(quick=True)
    await write_batches(SinkWrites("output", sink), 5)
    assert sink.threads[0] == threading.get_ident()  # the first write is always on the loop
    assert [row["id"] for row in sink.rows] == [f"{b}-{i}" for b in range(5) for i in range(3)]


@pytest.mark.parametrize("quick", [None, False])
async def test_any_other_sink_writes_from_worker_threads(quick: bool | None) -> None:
    sink = ThreadNotingSink(quick=quick)
    await write_batches(SinkWrites("output", sink), 4)
    assert threading.get_ident() not in sink.threads
    assert len(sink.rows) == 12


async def test_a_write_that_holds_the_loop_moves_the_sink_to_threads_quietly() -> None:
    """A write that blocks longer than any pause of a busy machine explains moves the sink
    for the rest of the run; GraSP's own placement warns no one (there is nothing to do)."""
    sink = ThreadNotingSink(quick=True, pause=BLOCKING_CALL_SECONDS + 0.1)
    writes = SinkWrites("output", sink)
    with capture_logs() as logs:
        await write_batches(writes, 4)
    loop = threading.get_ident()
    assert sink.threads[0] == loop
    assert loop not in sink.threads[1:]
    assert writes.placement.on_loop is False
    assert [entry["log_level"] for entry in logs] == ["debug"]
    assert "sink 'output'" in logs[0]["event"]
    assert len(sink.rows) == 12


@pytest.mark.parametrize("sink_type", [JsonlSink, CsvSink, JsonArraySink])
def test_the_file_sinks_write_on_the_loop_unless_they_fsync(
    sink_type: type[JsonlSink | CsvSink | JsonArraySink], tmp_path: Path
) -> None:
    assert sink_type(tmp_path / "out", fsync=False).quick_writes is True
    assert sink_type(tmp_path / "out", fsync=True).quick_writes is False


def test_a_subclass_with_its_own_write_is_not_taken_for_quick(tmp_path: Path) -> None:
    """A plugin subclassing a file sink with a ``write`` of its own (which may block, or
    need a thread) writes from threads, unless it says its writes are quick."""

    class Uploading(JsonlSink):
        def write(self, records: list[dict[str, Any]]) -> CommitToken:
            return super().write(records)

    class SaysQuick(Uploading):
        quick_writes = True  # type: ignore[assignment]

    class PlainSubclass(JsonlSink):
        pass

    assert Uploading(tmp_path / "a.jsonl").quick_writes is False
    assert SaysQuick(tmp_path / "b.jsonl").quick_writes is True
    assert PlainSubclass(tmp_path / "c.jsonl").quick_writes is True
