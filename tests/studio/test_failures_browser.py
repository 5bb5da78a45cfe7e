"""Triage in Chromium: failures grouped with their inputs, then the failed records run
again once the cause is fixed (a retry watched in the run view); axe finds no serious
problem."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.studio.conftest import axe_violations, screenshot
from tests.studio.finished_runs import Runs, goto, reading_fixture  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def test_triage_a_failure_and_rerun_the_failed_records(page: Any, reading: Runs) -> None:
    """One group of three with their inputs; the retry, a run watched in the run view,
    makes the three records."""
    goto(page, reading.studio, "failures", task=reading.greet_task)
    group = page.locator("section.group")
    assert group.count() == 1
    assert "greet: 3 ×" in group.locator("h2").inner_text()
    page.click("section.group tr:has-text('r3') summary")
    assert '"n": 3' in page.locator("section.group tr:has-text('r3') pre").inner_text()
    assert axe_violations(page) == []
    screenshot(page, "failures")

    (reading.studio.workspace / "greet" / "broken").unlink()
    page.click("#retry")
    page.wait_for_selector("main[data-view='run']:not([aria-busy])")
    assert page.locator("main h1").inner_text() == "Retry of the failed records"
    expect(page.locator("#run-state")).to_have_text("finished", timeout=60_000)
    expect(page.locator("#run-log")).to_contain_text("--retry-failures")
    assert page.locator("[data-counter='done'] .value").inner_text() == "3"
    assert axe_violations(page) == []
    page.click("#run-output")
    page.wait_for_selector("main[data-view='output'] #output-table tr.vrow")
    ids = page.locator("#output-table tr.vrow td:nth-child(2)").all_inner_texts()
    assert ids == ["r0", "r3", "r6"]
    retried = reading.studio.workspace / "greet/output/greet.retry/output/greet.jsonl"
    assert [json.loads(line)["text"] for line in retried.read_text().splitlines()] == [
        "hello 0",
        "hello 3",
        "hello 6",
    ]


def test_a_record_link_opens_the_failed_record(page: Any, reading: Runs) -> None:
    """From a group, a record's id opens it with its failure."""
    goto(page, reading.studio, "failures", task=reading.greet_task)
    page.click("section.group a:has-text('r6')")
    page.wait_for_selector("main[data-view='record'] .failure")
    assert "Record r6" in page.locator("main h1").inner_text()
