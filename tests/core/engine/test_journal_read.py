"""A resume reads the journal in two passes (the ends of records, then only the node runs
of records left unfinished): what it rebuilds is what reading every line in order rebuilds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from grasp_core.engine.journal import Journal

ids = st.sampled_from(["r1", "r2", 'q"uote', "caf\u00e9", "r\\5", "6"])


def node_run(record: str, node: str, iteration: int, value: int) -> dict[str, Any]:
    return {"e": "node_done", "r": record, "n": node, "i": iteration, "d": {"x": value}}


events = st.one_of(
    st.builds(node_run, ids, st.sampled_from(["a", "b"]), st.integers(0, 2), st.integers()),
    st.builds(lambda r: {"e": "record_done", "ids": [r], "tokens": {}}, ids),
    st.builds(lambda r: {"e": "record_failed", "failures": [{"id": r}], "tokens": {}}, ids),
)


def line_by_line(lines: list[dict[str, Any]]) -> dict[str, dict[tuple[str, int], Any]]:
    """The memo as one pass over every line in order builds it (the reference): node runs
    of a record that ended (done, or failed: both are skipped by a resume) are left out."""
    memo: dict[str, dict[tuple[str, int], Any]] = {}
    ended: set[str] = set()
    for event in lines:
        if event["e"] == "node_done":
            if event["r"] not in ended:
                memo.setdefault(event["r"], {})[(event["n"], event["i"])] = event["d"]
            continue
        ids = event["ids"] if event["e"] == "record_done" else [event["failures"][0]["id"]]
        for record in ids:
            memo.pop(record, None)
        ended.update(ids)
    return memo


@settings(max_examples=200, deadline=None)
@given(st.lists(events, max_size=30), st.booleans())
def test_two_passes_rebuild_what_reading_in_order_rebuilds(
    tmp_path_factory: Any, lines: list[dict[str, Any]], ascii_only: bool
) -> None:
    """Node runs of finished records are left out whichever comes first; node runs of
    unfinished ones come back, the last line of a run winning; ids written with escapes
    (a quote, a backslash, non-ASCII) or raw UTF-8 are read as ids too."""
    path: Path = tmp_path_factory.mktemp("journal") / "j.jsonl"
    text = "".join(
        json.dumps(e, separators=(",", ":"), ensure_ascii=ascii_only) + "\n" for e in lines
    )
    path.write_bytes(text.encode("utf-8"))
    state = Journal(path).read()
    got = {r: {run: entry["d"] for run, entry in runs.items()} for r, runs in state.memo.items()}
    assert {r: runs for r, runs in got.items() if runs} == {
        r: runs for r, runs in line_by_line(lines).items() if runs
    }
