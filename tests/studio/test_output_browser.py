"""The output view in Chromium: a virtualised table that draws only the rows in view of a
large output, sorts on the server by a column header, and filters with `grasp filter`
conditions; axe finds no serious problem."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.studio.conftest import axe_violations, screenshot
from tests.studio.finished_runs import Runs, goto, reading_fixture  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

ROWS = 20_000


def test_the_table_sorts_and_filters_on_the_server(page: Any, reading: Runs) -> None:
    """Clicking a header sorts; clicking again reverses; a filter keeps matching rows."""
    goto(page, reading.studio, "output", task=reading.greet_task, output=reading.variant_output)
    page.wait_for_selector("#output-table tr.vrow")
    assert page.locator("#output-status").inner_text() == "8 rows"
    page.click("#output-table th button:has-text('n')")
    page.wait_for_selector("th[aria-sort='ascending']")
    page.click("#output-table th button:has-text('n')")
    page.wait_for_selector("th[aria-sort='descending']")
    page.wait_for_selector("#output-table tr.vrow")
    assert page.locator("#output-table tr.vrow td:nth-child(2)").first.inner_text() == "r7"
    page.fill("#where", "n < 3")
    page.click("button:has-text('Apply')")
    expect(page.locator("#output-status")).to_have_text(re.compile(r"^3 rows matching"))
    ids = page.locator("#output-table tr.vrow td:nth-child(2)").all_inner_texts()
    assert ids == ["r2", "r1", "r0"]
    assert axe_violations(page) == []
    screenshot(page, "output")


def test_a_bad_filter_says_why(page: Any, reading: Runs) -> None:
    """The filter's one-line error shows in the view."""
    goto(page, reading.studio, "output", task=reading.greet_task, where="n = 3")
    assert "write `==`" in page.locator("[role=alert]").inner_text()


def test_a_large_output_draws_only_the_rows_in_view(page: Any, reading: Runs) -> None:
    """20,000 rows: the DOM holds a window of them; scrolling to the end shows the last."""
    big = reading.studio.workspace / "big" / "output" / "big.jsonl"
    big.parent.mkdir(parents=True)
    big.write_text(
        "".join(json.dumps({"id": f"b{i}", "n": i}) + "\n" for i in range(ROWS)), encoding="utf-8"
    )
    (big.parent / "big.journal.jsonl").write_text("")
    goto(page, reading.studio, "output", output="big/output/big.jsonl")
    page.wait_for_selector("#output-table tr.vrow")
    expect(page.locator("#output-status")).to_have_text(f"{ROWS:,} rows")
    assert page.locator("#output-table tr.vrow").count() < 200
    page.eval_on_selector(".vtable", "el => { el.scrollTop = el.scrollHeight; }")
    page.wait_for_selector(f"#output-table tr.vrow >> text=b{ROWS - 1}")
    assert page.locator("#output-table tr.vrow").count() < 200
