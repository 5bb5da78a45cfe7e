"""The scheduler: a bounded admission window with no batch barrier, stops that keep what was
committed, skipped records, and failing records that do not stop the others."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from grasp_core.config import GraphConfig
from grasp_core.engine.journal import Journal
from grasp_core.engine.output import OutputShaper
from grasp_core.engine.scheduler import Engine
from grasp_core.engine.writer import FAILURES_SINK, EngineCounts
from grasp_core.errors import NodeError
from grasp_core.graph.compile import compile_graph
from grasp_core.graph.compiled import CompiledGraph
from grasp_core.models.backends import BackendPool
from grasp_core.models.catalog import ModelCatalog
from grasp_core.observe.metrics import RunMetrics
from grasp_core.protocols import BuildEnv, Sink, SourceItem
from tests.core.engine.test_writer import (
    Log,
    LoggingJournal,
    SyncingSink,
    assert_sinks_written_before_journal,
    assert_syncs_sinks_before_journal,
    journal_commits,
)

pytestmark = pytest.mark.anyio

Step = Callable[[Mapping[str, Any]], Awaitable[Any]]


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def one_node_graph(step: Step) -> CompiledGraph:
    """START -> step -> END, where ``step`` is a lambda node writing ``x``."""
    catalog = ModelCatalog()
    env = BuildEnv(Path.cwd(), catalog, BackendPool(catalog), RunMetrics())
    config = GraphConfig.model_validate(
        {
            "nodes": {"step": {"node_type": "lambda", "lambda": step, "output_keys": ["x"]}},
            "edges": [{"from": "START", "to": "step"}, {"from": "step", "to": "END"}],
        }
    )
    return compile_graph(config, env)


def items(n: int) -> Iterator[SourceItem]:
    return iter([SourceItem(str(i), {"n": i}) for i in range(n)])


@dataclass
class Rig:
    """An engine over fake sinks and a real journal in tmp_path, sharing one ordered log."""

    log: Log
    out: SyncingSink
    failures: SyncingSink
    journal: LoggingJournal
    engine: Engine

    async def run(self, source: Iterator[SourceItem]) -> EngineCounts:
        with anyio.fail_after(30):  # a regression fails rather than hangs
            counts = await self.engine.run(source)
        self.journal.close()
        return counts

    def committed(self) -> list[str]:
        """Ids the sink received, after checking that the journal agrees with it exactly."""
        ids = self.out.ids()
        assert len(ids) == len(set(ids)), f"duplicated in the sink: {ids}"
        assert_sinks_written_before_journal(self.log, {"output"})
        done = [
            i
            for e in journal_commits(self.journal.path)
            if e["e"] == "record_done"
            for i in e["ids"]
        ]
        assert sorted(done) == sorted(ids), "the journal and the sink disagree"
        state = Journal(self.journal.path).read()
        assert state.tokens.get("output", []) == self.out.tokens
        if ids:
            assert_syncs_sinks_before_journal(self.log, {"output", FAILURES_SINK})
        return ids


def rig(tmp_path: Path, step: Step, **options: Any) -> Rig:
    log: Log = []
    out = SyncingSink("output", log)
    failures = SyncingSink(FAILURES_SINK, log)
    journal = LoggingJournal(tmp_path / "journal.jsonl", log)
    journal.open()
    sinks: dict[str, Sink] = {"output": out}
    engine = Engine(
        one_node_graph(step),
        sinks=sinks,
        failures=failures,
        journal=journal,
        shaper=OutputShaper(None, task_data={}, task_dir=None),
        metrics=RunMetrics(),
        **options,
    )
    return Rig(log, out, failures, journal, engine)


class Changes:
    """Wakes every waiter whenever shared counters change, so they can re-check a condition."""

    def __init__(self) -> None:
        self._changed = anyio.Event()

    def notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    async def wait_until(self, condition: Callable[[], bool]) -> None:
        while not condition():
            await self._changed.wait()


async def test_admission_fills_the_window_and_never_exceeds_it(tmp_path: Path) -> None:
    """With window=W, at most W records are in flight at once, and W are when records wait."""
    window, total = 4, 23
    active = peak = started = 0
    in_flight_seen: list[int] = []
    changes = Changes()

    async def step(state: Mapping[str, Any]) -> int:
        nonlocal active, peak, started
        active += 1
        started += 1
        peak = max(peak, active)
        in_flight_seen.append(r.engine.in_flight)
        changes.notify()
        try:
            # hold until the window is full (or nothing is left to admit), then a few turns
            # more, so that a record admitted beyond the window would be seen here
            await changes.wait_until(lambda: active >= window or started == total)
            for _ in range(5):
                await anyio.lowlevel.checkpoint()
        finally:
            active -= 1
            changes.notify()
        return int(state["n"])

    r = rig(tmp_path, step, window=window, batch_size=3)
    counts = await r.run(items(total))
    assert peak == window
    assert max(in_flight_seen) <= window
    assert sorted(r.committed(), key=int) == [str(i) for i in range(total)]
    assert (counts.done, counts.interrupted) == (total, False)


async def test_a_slow_record_does_not_hold_back_later_commits(tmp_path: Path) -> None:
    """Records admitted after a slow one, more than a window of them, are committed (sink and
    journal) while it still runs: neither admission nor commits wait for a whole batch."""
    total, window = 9, 3
    fast = {str(i) for i in range(1, total)}
    released = anyio.Event()
    journaled: set[str] = set()

    def on_append(event: dict[str, Any]) -> None:
        journaled.update(event.get("ids", ()))
        if fast <= journaled:
            released.set()

    async def step(state: Mapping[str, Any]) -> int:
        r.log.append(("enter", str(state["n"])))
        if state["n"] == 0:
            await released.wait()  # set only once every fast record is journaled
        return int(state["n"])

    # 8 fast records in batches of 3: a writer that waited to fill a batch would deadlock
    r = rig(tmp_path, step, window=window, batch_size=3)
    r.journal.on_append = on_append
    await r.run(items(total))
    ids = r.committed()
    assert sorted(ids, key=int) == [str(i) for i in range(total)]
    assert ids[-1] == "0"
    done_order = [i for e in journal_commits(r.journal.path) for i in e["ids"]]
    assert done_order[-1] == "0"
    assert r.log.index(("enter", "0")) < next(i for i, e in enumerate(r.log) if e[0] == "write")


async def test_stop_abandons_in_flight_records_and_keeps_committed_ones(tmp_path: Path) -> None:
    """request_stop() admits nothing more and abandons in-flight records; every record
    committed before it stays committed exactly once, and the run counts as interrupted."""
    window, quick = 3, 6
    blocked = 0
    entered: list[int] = []
    after_stop: list[int] = []
    stopped = False
    in_flight_at_stop = -1

    async def step(state: Mapping[str, Any]) -> int:
        nonlocal blocked, stopped, in_flight_at_stop
        n = int(state["n"])
        entered.append(n)
        if stopped:
            after_stop.append(n)
        if n < quick:
            return n
        blocked += 1
        if blocked == window:  # every slot is held by a record that never finishes
            in_flight_at_stop = r.engine.in_flight
            stopped = True
            r.engine.request_stop()
        await anyio.sleep_forever()
        return n

    r = rig(tmp_path, step, window=window, batch_size=2)
    counts = await r.run(items(20))
    assert in_flight_at_stop == window
    assert after_stop == []
    assert sorted(entered) == list(range(quick + window))
    # the quick records had all handed over their results: none is lost, none duplicated
    assert sorted(r.committed(), key=int) == [str(i) for i in range(quick)]
    assert counts.done == quick
    assert counts.interrupted is True


async def test_stop_finishing_in_flight_commits_them_and_admits_nothing(tmp_path: Path) -> None:
    """request_stop(finish_in_flight=True) lets in-flight records finish and commits them,
    admits no new record, and the run counts as interrupted (records were left)."""
    window = 3
    active = 0
    full = anyio.Event()
    entered: list[int] = []
    after_stop: list[int] = []
    stopped = False
    in_flight_at_stop = -1

    async def step(state: Mapping[str, Any]) -> int:
        nonlocal active, stopped, in_flight_at_stop
        n = int(state["n"])
        entered.append(n)
        if stopped:
            after_stop.append(n)
        active += 1
        if active == window:
            in_flight_at_stop = r.engine.in_flight
            stopped = True
            r.engine.request_stop(finish_in_flight=True)
            full.set()
        await full.wait()
        for _ in range(3):  # still running after the stop
            await anyio.lowlevel.checkpoint()
        return n

    r = rig(tmp_path, step, window=window, batch_size=2)
    counts = await r.run(items(20))
    assert in_flight_at_stop == window
    assert after_stop == []
    assert sorted(entered) == list(range(window))
    assert sorted(r.committed(), key=int) == [str(i) for i in range(window)]
    assert counts.done == window
    assert counts.interrupted is True


@pytest.mark.parametrize("finished_after", [0, 3])
async def test_a_stop_asked_by_the_last_record_leaves_a_finished_run(
    tmp_path: Path, finished_after: int
) -> None:
    """request_stop(finish_in_flight=True) from the last record to run (later ones, if any,
    already finished) commits everything and does not count as interrupted."""
    total = 6

    async def step(state: Mapping[str, Any]) -> int:
        n = int(state["n"])
        if n == total - 1:
            r.engine.request_stop(finish_in_flight=True)
        await anyio.lowlevel.checkpoint()
        return n

    done_before = {str(i) for i in range(total, total + finished_after)}
    r = rig(tmp_path, step, window=2, batch_size=2, finished=lambda i, _u: i in done_before)
    counts = await r.run(items(total + finished_after))
    assert sorted(r.committed(), key=int) == [str(i) for i in range(total)]
    assert (counts.done, counts.skipped) == (total, finished_after)
    assert counts.interrupted is False


async def test_finished_records_are_skipped_without_running(tmp_path: Path) -> None:
    """Records the finished callback reports done are counted skipped and never reach the
    graph; an unreadable item is asked about as unreadable."""
    entered: list[int] = []
    asked: list[tuple[str, bool]] = []

    async def step(state: Mapping[str, Any]) -> int:
        entered.append(int(state["n"]))
        return int(state["n"])

    def finished(record_id: str, unreadable: bool) -> bool:
        asked.append((record_id, unreadable))
        return record_id in {"1", "3"} or (unreadable and record_id == "<line 7>")

    source = [
        *items(5),
        SourceItem("<line 7>", {}, error="bad JSON"),
        SourceItem("<line 8>", {}, error="bad JSON"),
    ]
    r = rig(tmp_path, step, window=2, batch_size=2, finished=finished)
    counts = await r.run(iter(source))
    assert sorted(entered) == [0, 2, 4]
    assert sorted(r.committed()) == ["0", "2", "4"]
    assert r.failures.ids() == ["<line 8>"]
    assert ("<line 7>", True) in asked
    assert (counts.done, counts.skipped, counts.failed) == (3, 3, 1)
    state = Journal(r.journal.path).read()
    assert state.unreadable == {"<line 8>"}
    assert state.done == {"0", "2", "4"}


async def test_a_failing_node_fails_its_record_only(tmp_path: Path) -> None:
    """A NodeError sends the record to the failures sink with its reason and node, counts it
    in failed and failure_reasons, and the other records are committed."""

    async def step(state: Mapping[str, Any]) -> int:
        if state["n"] in {2, 5}:
            raise NodeError(f"cannot do {state['n']}")
        return int(state["n"])

    r = rig(tmp_path, step, window=3, batch_size=2)
    counts = await r.run(items(8))
    assert sorted(r.committed(), key=int) == ["0", "1", "3", "4", "6", "7"]
    rows = sorted((row for rows in r.failures.writes for row in rows), key=lambda f: f["id"])
    assert [(f["id"], f["node"], f["error"], f["reason"]) for f in rows] == [
        ("2", "step", "NodeError", "cannot do 2"),
        ("5", "step", "NodeError", "cannot do 5"),
    ]
    assert rows[0]["input"] == {"n": 2}
    assert (counts.done, counts.failed) == (6, 2)
    assert counts.failure_reasons == {"step: NodeError": 2}
    journaled = [
        f
        for e in journal_commits(r.journal.path)
        if e["e"] == "record_failed"
        for f in e["failures"]
    ]
    assert sorted(journaled, key=lambda f: f["id"]) == [
        {"id": "2", "node": "step", "reason": "cannot do 2"},
        {"id": "5", "node": "step", "reason": "cannot do 5"},
    ]


async def test_engine_sink_writes_hold_at_most_batch_size_rows(tmp_path: Path) -> None:
    """Through the engine too, no sink write receives more than batch_size rows."""

    async def step(state: Mapping[str, Any]) -> int:
        await anyio.lowlevel.checkpoint()
        return int(state["n"])

    r = rig(tmp_path, step, window=8, batch_size=3)
    counts = await r.run(items(30))
    assert all(1 <= len(rows) <= 3 for rows in r.out.writes)
    assert sorted(r.committed(), key=int) == [str(i) for i in range(30)]
    assert counts.done == 30
