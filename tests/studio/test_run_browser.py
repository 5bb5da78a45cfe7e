"""The run view in Chromium: start a run of 200 records, watch the counters move through
server-sent events, stop it as Ctrl-C does half-way, resume it to the end.

Half-way is not a matter of timing: records from number 100 on wait for a gate file (see
``GATED_TASK``), so the run stops with exactly 100 records done whatever the machine's load."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.studio.conftest import Studio, axe_violations, screenshot

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

WAIT_MS = 120_000


def counter(page: Any, name: str) -> str:
    text: str = page.locator(f"#counters [data-counter='{name}'] .value").inner_text()
    return text


def test_run_200_records_stop_half_way_and_resume(page: Any, studio_server: Studio) -> None:
    """Start: the counters reach 100 done while the rest wait; Stop: the run ends
    interrupted with those 100 committed; Resume (gate open): 200 done, none failed, each
    record written once; the view passes axe at each step."""
    page.goto(f"{studio_server.url}#/run?task=gated/task.yaml")
    page.wait_for_selector("#run-state[data-state='none']")
    assert axe_violations(page) == []

    page.click("#run-start")
    page.wait_for_selector("#run-state[data-state='running']", timeout=WAIT_MS)
    page.wait_for_selector("#counters [data-counter='done'] .value:text-is('100')", timeout=WAIT_MS)
    assert counter(page, "total") == "200"
    assert int(counter(page, "in_flight")) > 0  # the gated records
    page.wait_for_selector("#per-model tr[data-row='writer']")
    screenshot(page, "run")
    assert axe_violations(page) == []

    page.click("#run-stop")
    page.wait_for_selector("#run-state[data-state='stopped']", timeout=WAIT_MS)
    assert counter(page, "done") == "100"
    assert counter(page, "failed") == "0"
    assert "--resume" in page.locator("#run-log").inner_text()

    (studio_server.workspace / "gated" / "gate").touch()
    page.click("#run-resume")
    page.wait_for_selector("#run-state[data-state='finished']", timeout=WAIT_MS)
    page.wait_for_selector("#counters [data-counter='done'] .value:text-is('200')", timeout=WAIT_MS)
    assert counter(page, "failed") == "0"
    assert axe_violations(page) == []

    output = studio_server.workspace / "gated" / "output" / "facts.jsonl"
    ids = [json.loads(line)["id"] for line in output.read_text(encoding="utf-8").splitlines()]
    assert sorted(ids, key=int) == [str(i) for i in range(200)]
