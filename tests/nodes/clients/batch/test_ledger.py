"""The ledger survives a line torn by a crash mid-write: the torn tail is cut before the
next event is appended, so that event is read back by the next resume. Its memory holds
the requests of open batches only."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from grasp_nodes.clients.batch.ledger import BatchLedger
from tests.nodes.clients.batch.fakes import FakeProvider, line_of, make_batcher

pytestmark = pytest.mark.anyio


async def test_an_event_written_after_a_torn_line_is_read_back(tmp_path: Path) -> None:
    """A crash tore the last line; the next run's ``uploaded`` event is not glued to it."""
    path = tmp_path / "ledger.jsonl"
    first = BatchLedger(path)
    await first.write("m", {"event": "uploaded", "file": "file-1", "ids": ["a"]})
    await first.write("m", {"event": "created", "file": "file-1", "batch": "batch-1"})
    first.close()
    text = path.read_text()
    path.write_text(text[: len(text) - 20])  # the `created` line torn mid-write
    resumed = BatchLedger(path)
    assert resumed.model("m").unbatched_files() == ["file-1"]
    await resumed.write("m", {"event": "uploaded", "file": "file-2", "ids": ["b"]})
    resumed.close()
    again = BatchLedger(path).model("m")
    assert list(again.files) == ["file-1", "file-2"]
    assert again.batch_of("b") is None
    assert path.read_text().endswith("\n")
    assert len(path.read_text().splitlines()) == 2


async def test_a_ledger_of_only_a_torn_line_is_cut_to_nothing(tmp_path: Path) -> None:
    """A torn first line (no newline at all) is dropped whole."""
    path = tmp_path / "ledger.jsonl"
    path.write_text('{"event":"uploa')
    ledger = BatchLedger(path)
    await ledger.write("m", {"event": "uploaded", "file": "file-1", "ids": ["a"]})
    ledger.close()
    assert list(BatchLedger(path).model("m").files) == ["file-1"]


async def test_answered_requests_leave_memory_but_stay_on_disk(tmp_path: Path) -> None:
    """Once a batch's requests are answered, the run's ledger no longer holds their ids
    (memory follows the open batches, not the run's total); a resume reads them back."""
    provider = FakeProvider()
    batcher = make_batcher(tmp_path, provider, max_requests=2, max_wait=3600)
    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            for custom_id in ("a", "b"):
                group.start_soon(batcher.submit, custom_id, line_of(custom_id))
    book = batcher.ledger.model("m")
    assert book.latest_file == {}
    assert book.submissions == {}
    assert book.files == {"file-1": []}
    batcher.ledger.close()
    resumed = BatchLedger(tmp_path / "ledger.jsonl").model("m")
    assert resumed.batch_of("a") == resumed.batch_of("b") == "batch-1"
