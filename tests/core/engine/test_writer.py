"""The writer commits batches: sinks first, then the journal with the sinks' tokens; it syncs
sinks before the journal, on its policy and when its stream closes."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import anyio
import pytest

from grasp_core.engine.journal import Journal
from grasp_core.engine.writer import FAILURES_SINK, EngineCounts, RecordResult, RecordWriter
from grasp_core.protocols import CommitToken, Sink

pytestmark = pytest.mark.anyio

Log = list[tuple[Any, ...]]
"""One ordered log shared by the fake sinks and the journal: ``("write", sink, ids, token)``,
``("sync", sink)``, ``("journal", event)`` and ``("force", "journal")``."""


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class FakeSink:
    """A sink that keeps what it was given and logs every write with the token it returns."""

    def __init__(
        self, name: str, log: Log, on_write: Callable[[list[dict[str, Any]]], None] | None = None
    ) -> None:
        self.name = name
        self.log = log
        self.on_write = on_write
        self.writes: list[list[dict[str, Any]]] = []
        self.tokens: list[CommitToken] = []

    def restore(self, committed: list[CommitToken]) -> None:
        self.log.append(("restore", self.name))

    def write(self, records: list[dict[str, Any]]) -> CommitToken:
        token = {
            "sink": self.name,
            "write": len(self.writes),
            "rows": len(self.ids()) + len(records),
        }
        self.writes.append([dict(r) for r in records])
        self.tokens.append(token)
        self.log.append(("write", self.name, [r["id"] for r in records], token))
        if self.on_write is not None:
            self.on_write(records)
        return token

    def finalize(self) -> list[Path]:
        return []

    def close(self) -> None:
        pass

    def ids(self) -> list[str]:
        return [row["id"] for rows in self.writes for row in rows]


class SyncingSink(FakeSink):
    """A fake sink with the optional ``sync()``."""

    def sync(self) -> None:
        self.log.append(("sync", self.name))


class LoggingJournal(Journal):
    """A real journal (on a file) that also logs its commits and disk syncs."""

    def __init__(self, path: Path, log: Log) -> None:
        super().__init__(path)
        self.log = log
        self.on_append: Callable[[dict[str, Any]], None] | None = None

    def append(self, event: dict[str, Any]) -> None:
        super().append(event)
        self.log.append(("journal", event))
        if self.on_append is not None:
            self.on_append(event)

    def force_to_disk(self) -> None:
        super().force_to_disk()
        self.log.append(("force", "journal"))


def journal_commits(path: Path) -> list[dict[str, Any]]:
    """The ``record_done`` and ``record_failed`` events in the journal file, in order."""
    events = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [e for e in events if e["e"] in {"record_done", "record_failed"}]


def assert_sinks_written_before_journal(log: Log, outputs: Iterable[str]) -> None:
    """Every commit event follows the writes it names: ``record_done`` carries exactly the
    tokens that the output sinks' writes (since the last commit) returned, for the rows of the
    ids it names; ``record_failed`` carries the failures sink's token for the ids it names.
    No write is left without its commit event."""
    outputs = set(outputs)
    pending: dict[str, tuple[list[str], CommitToken]] = {}
    for entry in log:
        if entry[0] == "write":
            _, name, ids, token = entry
            assert name not in pending, f"{name} written twice in one commit"
            pending[name] = (ids, token)
        elif entry[0] == "journal" and entry[1]["e"] == "record_done":
            event = entry[1]
            written = {n: pending.pop(n) for n in outputs if n in pending}
            assert FAILURES_SINK not in pending, "the failures write was not journaled first"
            assert event["tokens"] == {n: token for n, (_ids, token) in written.items()}
            for ids, _token in written.values():
                assert set(ids) <= set(event["ids"])
            if written:
                assert set(written) == outputs, "a record_done was journaled before every sink"
        elif entry[0] == "journal" and entry[1]["e"] == "record_failed":
            event = entry[1]
            assert set(pending) == {FAILURES_SINK}, "record_failed without its failures write"
            ids, token = pending.pop(FAILURES_SINK)
            assert event["tokens"] == {FAILURES_SINK: token}
            assert [f["id"] for f in event["failures"]] == ids
    assert pending == {}, f"writes never journaled: {pending}"


def assert_syncs_sinks_before_journal(log: Log, syncing: Iterable[str]) -> None:
    """Every journal force is preceded (since the previous one) by a sync of every sink that
    has ``sync()``, and the log ends with a journal force after the last commit."""
    syncing = set(syncing)
    synced: set[str] = set()
    for entry in log:
        if entry[0] == "sync":
            synced.add(entry[1])
        elif entry[0] == "force":
            assert synced == syncing, f"journal forced after syncing only {sorted(synced)}"
            synced = set()
    assert log[-1] == ("force", "journal"), "the run did not end with a sync"


def output(i: int) -> RecordResult:
    return RecordResult(str(i), output={"id": str(i), "n": i})


def failure(i: int) -> RecordResult:
    return RecordResult(
        str(i),
        failure={"id": str(i), "node": "step", "error": "NodeError", "reason": f"bad {i}"},
    )


async def write_all(writer: RecordWriter, results: list[RecordResult]) -> None:
    """Send every result before the writer starts, then close the stream and let it drain."""
    send, receive = anyio.create_memory_object_stream[RecordResult](len(results) + 1)
    async with send:
        for result in results:
            send.send_nowait(result)
    with anyio.fail_after(30):
        await writer.run(receive)


def rig(
    tmp_path: Path, *, plain: bool = False, **options: Any
) -> tuple[Log, dict[str, SyncingSink], SyncingSink, LoggingJournal, RecordWriter]:
    """A writer over sinks "a" and "b" (and, with ``plain``, a sink without sync())."""
    log: Log = []
    sinks = {"a": SyncingSink("a", log), "b": SyncingSink("b", log)}
    failures = SyncingSink(FAILURES_SINK, log)
    journal = LoggingJournal(tmp_path / "journal.jsonl", log)
    journal.open()
    sink_map: dict[str, Sink] = dict(sinks)
    if plain:
        sink_map["plain"] = FakeSink("plain", log)
    writer = RecordWriter(
        sinks=sink_map, failures=failures, journal=journal, counts=EngineCounts(), **options
    )
    return log, sinks, failures, journal, writer


async def test_no_sink_write_holds_more_than_batch_size_rows(tmp_path: Path) -> None:
    """With batch_size=B no sink write receives more than B rows, and every row is written
    once, in the order the results arrived."""
    batch = 4
    _log, sinks, failures, journal, writer = rig(tmp_path, batch_size=batch)
    results = [failure(i) if i % 5 == 3 else output(i) for i in range(23)]
    await write_all(writer, results)
    journal.close()
    outputs = [r.record_id for r in results if r.failure is None]
    failed = [r.record_id for r in results if r.failure is not None]
    for sink in (*sinks.values(), failures):
        assert all(1 <= len(rows) <= batch for rows in sink.writes)
    assert sinks["a"].ids() == sinks["b"].ids() == outputs
    assert failures.ids() == failed
    # results already waiting are taken together, up to batch_size at a time
    commits = journal_commits(journal.path)
    assert sum(1 for c in commits if c["e"] == "record_done") == math.ceil(len(results) / batch)
    assert (writer.counts.done, writer.counts.failed) == (len(outputs), len(failed))


async def test_sinks_are_written_before_the_journal_names_their_records(tmp_path: Path) -> None:
    """Each batch is written to every sink before its record_done, whose tokens are exactly
    what the sinks' writes returned; failures reach the failures sink before record_failed."""
    log, sinks, failures, journal, writer = rig(tmp_path, batch_size=3)
    filtered = RecordResult("9", output=None)
    results = [failure(i) if i % 4 == 1 else output(i) for i in range(9)]
    results.insert(4, filtered)
    await write_all(writer, results)
    journal.close()

    assert_sinks_written_before_journal(log, sinks)
    # the file holds exactly the commits logged, in order
    assert journal_commits(journal.path) == [e for kind, e, *_ in log if kind == "journal"]
    state = Journal(journal.path).read()
    assert state.done == {r.record_id for r in results if r.failure is None}
    assert state.failed == {r.record_id for r in results if r.failure is not None}
    assert state.tokens == {
        "a": sinks["a"].tokens,
        "b": sinks["b"].tokens,
        FAILURES_SINK: failures.tokens,
    }
    # a filtered record is journaled done but writes no row
    assert "9" not in sinks["a"].ids()
    assert (writer.counts.done, writer.counts.filtered, writer.counts.failed) == (7, 1, 2)


async def test_sync_forces_sinks_then_journal_on_the_policy_and_at_the_end(
    tmp_path: Path,
) -> None:
    """Every sync_every records, and once when the stream closes, sinks are synced before the
    journal is forced to disk; a sink without sync() is left alone."""
    log, _sinks, _failures, journal, writer = rig(
        tmp_path, plain=True, batch_size=1, sync_every=3, sync_seconds=3600
    )
    await write_all(writer, [failure(i) if i == 4 else output(i) for i in range(7)])
    journal.close()

    assert_syncs_sinks_before_journal(log, {"a", "b", FAILURES_SINK})
    assert_sinks_written_before_journal(log, {"a", "b", "plain"})
    # 7 records one at a time: a sync after the 3rd and the 6th, and a final one at the end
    forced_after = [
        sum(1 for e in log[:i] if e[0] == "journal") for i, e in enumerate(log) if e[0] == "force"
    ]
    assert forced_after == [3, 6, 7]


async def test_a_zero_sync_interval_syncs_after_every_commit(tmp_path: Path) -> None:
    """With sync_seconds=0 every commit is synced before the next batch is written."""
    log, _sinks, _failures, journal, writer = rig(tmp_path, batch_size=2, sync_seconds=0)
    await write_all(writer, [output(i) for i in range(7)])
    journal.close()
    assert_syncs_sinks_before_journal(log, {"a", "b", FAILURES_SINK})
    kinds = [e[0] for e in log if e[0] in {"journal", "force"}]
    assert kinds == ["journal", "force"] * 4


async def test_a_writer_with_nothing_to_commit_does_not_sync(tmp_path: Path) -> None:
    """A stream closed with no results leaves the sinks and the journal untouched."""
    log, _sinks, _failures, journal, writer = rig(tmp_path)
    await write_all(writer, [])
    journal.close()
    assert log == []
    assert not journal.path.exists()
