"""Comparing two runs in Chromium: metrics side by side and each record's changed words
marked; axe finds no serious problem."""

from __future__ import annotations

from typing import Any

import pytest

from tests.studio.conftest import axe_violations, screenshot
from tests.studio.finished_runs import Runs, goto, reading_fixture  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def test_compare_two_runs_record_by_record(page: Any, reading: Runs) -> None:
    """The counts, the done metric of each side, and `1` → `1!` marked in r1's text."""
    goto(page, reading.studio, "compare", task=reading.greet_task)
    page.wait_for_selector("#diffs article")
    assert page.locator("#compare-counts").inner_text() == (
        "4 changed, 0 identical, 0 only in the left run, 4 only in the right run."
    )
    done = page.locator("table.metrics tr:has(th:text-is('done')) td").all_inner_texts()
    assert done == ["4", "8", "+4"]
    first = page.locator("#diffs article").first
    assert first.get_attribute("aria-label") == "Record r1"
    text_row = first.locator("tr:has(th:text-is('text'))")
    assert text_row.locator("del").all_inner_texts() == ["1"]
    assert text_row.locator("ins").all_inner_texts() == ["1!"]
    assert axe_violations(page) == []
    screenshot(page, "compare")


def test_the_status_filter_shows_one_kind(page: Any, reading: Runs) -> None:
    """ "Only in the right run" lists the four records the left run failed or lacks."""
    goto(page, reading.studio, "compare", task=reading.greet_task)
    page.select_option("#status", "only_right")
    page.wait_for_selector("main[data-view='compare'] #diffs article")
    labels = page.locator("#diffs article").evaluate_all("a => a.map(e => e.ariaLabel)")
    assert labels == ["Record r0", "Record r3", "Record r6", "Record r7"]
