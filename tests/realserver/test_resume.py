"""kill -9 of a ``grasp run`` against llama.cpp's server while model calls are in flight, then
``--resume``: every record is written exactly once and no journaled call is made again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.realserver.conftest import chain_task
from tests.realserver.recording_proxy import Exchange, RecordingProxy

pytestmark = [pytest.mark.realserver, pytest.mark.timeout(900)]

RECORDS = 8
COMMITTED_BEFORE_KILL = 3
"""The proxy holds every request once this many records have had their last reply."""


def call_of(exchange: Exchange) -> tuple[str, str]:
    """(node, record id) of a chain request: its prompt starts with ``"<node> <id>:"``."""
    node, record = exchange.user_text.split(":")[0].split()
    return node, record


def journal_events(path: Path) -> list[dict[str, object]]:
    """The journal's events; a torn last line (the kill may land mid-write) is left out."""
    events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            break
    return events


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


def test_kill_9_mid_run_then_resume_writes_each_record_once_and_repeats_no_call(
    tmp_path: Path, proxy: RecordingProxy
) -> None:
    """With requests held in flight, SIGKILL the run; the resume writes the rest, the output
    has every record once, and no (node, record) call journaled before the kill is sent
    again."""
    task = chain_task(tmp_path, proxy, "openai", RECORDS)
    journal = tmp_path / "out" / "chain.journal.jsonl"
    output = tmp_path / "out" / "chain.jsonl"
    proxy.hold_when = lambda done: (
        sum(call_of(e)[0] == "answer" for e in done) >= COMMITTED_BEFORE_KILL
    )
    command = [sys.executable, "-m", "grasp_core", "run", str(task), "--quiet"]
    run = subprocess.Popen(command, env=os.environ.copy(), stderr=subprocess.PIPE)
    try:
        wait_for(lambda: proxy.held > 0, "a request held in flight")
        wait_for(
            lambda: (
                journal.exists() and any(e["e"] == "record_done" for e in journal_events(journal))
            ),
            "a committed record",
        )
    finally:
        run.kill()
        run.wait(timeout=60)
    assert run.returncode == -9
    journaled = {
        (str(e["n"]), str(e["r"])) for e in journal_events(journal) if e["e"] == "node_done"
    }
    before = [call_of(e) for e in proxy.exchanges()]
    assert journaled <= set(before)
    proxy.drop_held()
    proxy.clear()

    resumed = subprocess.run(
        [*command, "--resume"], env=os.environ.copy(), capture_output=True, timeout=600
    )
    assert resumed.returncode == 0, resumed.stderr.decode()
    after = [call_of(e) for e in proxy.exchanges()]
    assert all(e.status == 200 for e in proxy.exchanges())
    ids = [json.loads(line)["id"] for line in output.read_text(encoding="utf-8").splitlines()]
    assert sorted(ids) == [f"r{i}" for i in range(RECORDS)]
    assert journaled.isdisjoint(after)
    assert len(after) == len(set(after))
    assert set(before) | set(after) == {
        (node, f"r{i}") for node in ("ask", "answer") for i in range(RECORDS)
    }
