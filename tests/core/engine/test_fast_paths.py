"""The engine's fast paths give exactly what the general code gives: journal lines, unwritable
values, the record feed's order and skip counts, and one worker task per admitted record."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from grasp_core.engine.feed import READ_BATCH, RecordFeed
from grasp_core.engine.journal import Journal
from grasp_core.engine.writable import find_unwritable
from grasp_core.errors import ResumeError
from grasp_core.graph.hook_styles import state_copy
from grasp_core.protocols import SourceItem

pytestmark = pytest.mark.anyio

NODE_RUNS: list[tuple[Any, str, int, dict[str, Any], dict[str, str]]] = [
    ("r1", "a", 0, {"x": 1, "text": 'é "quoted" \\ back\nline'}, {}),
    ("r\u00e9\ud800", "sub.inner", 3, {"y": [1, {"z": None}], "f": 0.5}, {"2": "END"}),
    (7, "a", 1, {}, {"0": "loop"}),  # a record id that is not text takes the general path
]


def test_node_done_lines_are_the_encoded_events(tmp_path: Path) -> None:
    """A node_done line is byte for byte the compact ASCII JSON of its event, and reads back
    as the same memo entry."""
    journal = Journal(tmp_path / "journal.jsonl")
    journal.open()
    for run in NODE_RUNS:
        journal.node_done(*run)
    journal.close()
    lines = (tmp_path / "journal.jsonl").read_text(encoding="ascii").splitlines()
    for (record_id, node, iteration, delta, routes), line in zip(NODE_RUNS, lines, strict=True):
        event: dict[str, Any] = {"e": "node_done", "r": record_id, "n": node, "i": iteration}
        event["d"] = delta
        if routes:
            event["routes"] = routes
        assert line == json.dumps(event, separators=(",", ":"))
    memo = Journal(tmp_path / "journal.jsonl").read().memo
    assert memo["r1"][("a", 0)] == {"d": NODE_RUNS[0][3], "routes": {}}
    assert memo["r\u00e9\ud800"][("sub.inner", 3)]["routes"] == {"2": "END"}


@pytest.mark.parametrize(
    ("record", "found"),
    [
        ({"id": "r1", "n": 5, "f": 1.5, "b": True, "none": None, "text": "plain"}, None),
        ({"id": "r1", "text": "caf\u00e9"}, None),
        ({"id": "r1", "bad": "x\ud800"}, "field 'bad' holds text that is not valid Unicode"),
        ({"id": "r1", "deep": [{"k": "x\udfff"}]}, "field 'deep.0.k' holds text"),
        ({"\ud800": 1}, "a key holds text that is not valid Unicode"),
        ({"big": 2**64}, "field 'big' holds an integer outside the 64-bit range"),
        ({"huge": [10 ** (sys.get_int_max_str_digits() + 5)]}, "field 'huge.0' holds an integer"),
    ],
)
def test_unwritable_values_are_found_past_the_plain_ones(
    record: dict[str, Any], found: str | None
) -> None:
    """Values skipped as plain (ASCII text, 64-bit integers, floats, booleans, None) never
    hide a value a sink cannot write, nor change the path that names it."""
    reason = find_unwritable(record, int64=True)
    if found is None:
        assert reason is None
    else:
        assert reason is not None
        assert reason.startswith(found), reason


async def test_the_feed_hands_out_unfinished_items_in_order(tmp_path: Path) -> None:
    """Items come out in source order, numbered from 0, across read batches; finished items
    are counted as skipped (once each) and never handed out."""
    total = READ_BATCH * 2 + 5
    items = iter(SourceItem(str(i), {"n": i}) for i in range(total))
    skipped: list[int] = []
    feed = RecordFeed(items, lambda rid, _unreadable: int(rid) % 3 == 0, lambda: skipped.append(1))
    taken = []
    while (got := await feed.take()) is not None:
        taken.append((got[0].record_id, got[1]))
    expected = [str(i) for i in range(total) if i % 3]
    assert taken == list(zip(expected, range(len(expected)), strict=True))
    assert len(skipped) == total - len(expected)
    assert await feed.take() is None


async def test_a_closed_feed_hands_out_nothing() -> None:
    """After close() (a stop), take() returns None even with items left in the batch."""
    feed = RecordFeed(
        iter(SourceItem(str(i), {}) for i in range(10)), lambda _r, _u: False, lambda: None
    )
    assert (await feed.take()) is not None
    feed.close()
    assert await feed.take() is None


def test_state_copy_is_a_deep_copy_that_keeps_sharing() -> None:
    """A hook's copy of the state shares no dict or list with it; shared or cyclic values
    and other types are copied as ``copy.deepcopy`` copies them."""
    plain = {"messages": [{"role": "user", "content": "hi"}], "n": 1, "tags": ["a"]}
    copied = state_copy(plain)
    assert copied == plain
    assert copied["messages"] is not plain["messages"]
    assert copied["messages"][0] is not plain["messages"][0]

    shared = ["x"]
    aliased: dict[str, Any] = {"a": shared, "b": shared, "when": (1, 2)}
    copied = state_copy(aliased)
    assert copied["a"] is copied["b"]
    assert copied["a"] is not shared

    cyclic: dict[str, Any] = {"self": None}
    cyclic["self"] = cyclic
    copied = state_copy(cyclic)
    assert copied["self"] is copied


def test_journal_lines_read_back_as_json_loads_reads_them(tmp_path: Path) -> None:
    """A resume reads the journal's own lines, edited ones (spaces, CRLF, raw UTF-8) and
    every other JSON line exactly as ``json.loads`` does; a line that is not JSON is refused
    with its file and line number."""
    path = tmp_path / "journal.jsonl"
    lines = [
        '{"e":"run","v":1,"task_hash":"h"}',
        ' {"e":"node_done","r":"r1","n":"a","i":0,"d":{"x":1.5e3}}\r',
        '{"e":"node_done","r":"r\u00e9","n":"a","i":0,"d":{"t":"caf\u00e9"}}',
        '{"e":"node_done","r":"r3","n":"a","i":0,"d":{}}',
        '{"e":"record_done","ids":["r3"],"tokens":{"output":{"size":3}}}',
    ]
    path.write_bytes("\n".join(lines).encode("utf-8") + b"\n")
    state = Journal(path).read()
    assert state.task_hash == "h"
    assert state.memo == {
        "r1": {("a", 0): {"d": {"x": 1500.0}, "routes": {}}},
        "r\u00e9": {("a", 0): {"d": {"t": "caf\u00e9"}, "routes": {}}},
    }
    assert state.done == {"r3"}
    assert state.tokens == {"output": [{"size": 3}]}

    path.write_bytes(path.read_bytes() + b'{"e":"node_done","r":"r4",}\n')
    with pytest.raises(ResumeError, match=r"journal\.jsonl:6: the journal line is not JSON"):
        Journal(path).read()


def test_a_torn_tail_longer_than_a_read_chunk_is_cut_off(tmp_path: Path) -> None:
    """Reading a journal (line by line) cuts a torn last line off at the last newline, even
    when the torn line is longer than the chunks the tail is searched in."""
    path = tmp_path / "journal.jsonl"
    whole = '{"e":"record_done","ids":["r1"],"tokens":{}}\n'
    path.write_bytes((whole + '{"e":"node_done","r":"r2","d":"' + "x" * 200_000).encode())
    assert Journal(path).read().done == {"r1"}
    assert path.read_bytes() == whole.encode()
    path.write_bytes(b'{"e":"record_done","ids":["r1"]')  # no newline at all
    assert Journal(path).read().done == set()
    assert path.read_bytes() == b""
