"""Review in Chromium: accept, rate and edit a record; the output table shows it; then
`grasp filter` exports the accepted records with their edits."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import expect

import grasp_core
from grasp_core.cli import main
from tests.studio.conftest import axe_violations, screenshot
from tests.studio.finished_runs import Runs, goto, reading_fixture  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def test_annotate_then_grasp_filter_by_the_annotation(
    page: Any, reading: Runs, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Accept r2 with a rating and an edit, reject r4; the filter keeps r2, edited."""
    goto(page, reading.studio, "record", output=reading.greet_output, row="1")
    assert "Record r2" in page.locator("main h1").inner_text()
    page.check("input[name=verdict][value=accept]")
    page.select_option("#rating", "5")
    page.fill("#edit", '{"loud": "HELLO TWO"}')
    page.click("button:has-text('Save review')")
    expect(page.locator("#review-status")).to_contain_text("Saved at")
    assert page.locator("#review-badge").inner_text() == "accepted · 5/5 · edited"
    assert axe_violations(page) == []
    screenshot(page, "review")

    page.click("text=Next record")
    page.wait_for_selector("main[data-view='record'] h1:has-text('Record r4')")
    page.check("input[name=verdict][value=reject]")
    page.click("button:has-text('Save review')")
    expect(page.locator("#review-status")).to_contain_text("Saved at")

    goto(page, reading.studio, "output", task=reading.greet_task, output=reading.greet_output)
    page.wait_for_selector("#output-table .badge")
    assert page.locator("#output-table .badge").all_inner_texts() == [
        "accepted · 5/5 · edited",
        "rejected",
    ]

    output = reading.studio.workspace / reading.greet_output
    monkeypatch.chdir(output.parent)
    where = 'annotation.verdict == "accept"'
    assert main(["filter", output.name, "-o", "accepted.jsonl", "--where", where]) == 0
    kept = (output.parent / "accepted.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in kept] == [
        {"id": "r2", "n": 2, "text": "hello 2", "loud": "HELLO TWO"}
    ]


def test_an_edit_that_is_not_json_is_refused_in_the_page(page: Any, reading: Runs) -> None:
    """Nothing is sent; the form says why."""
    goto(page, reading.studio, "record", output=reading.greet_output, row="0")
    page.fill("#edit", "{oops")
    page.click("button:has-text('Save review')")
    expect(page.locator("#review-status")).to_contain_text("The edit is not JSON")
    assert not (reading.studio.workspace / "greet/output/greet.annotations.jsonl").exists()


def test_one_click_reviews_in_the_output_table(page: Any, reading: Runs) -> None:
    """Accept and reject buttons in each row review it at once; a second click clears it."""
    goto(page, reading.studio, "output", task=reading.greet_task, output=reading.greet_output)
    page.click("button[aria-label='Accept r1']")
    expect(page.locator("button[aria-label='Accept r1']")).to_have_attribute("aria-pressed", "true")
    page.click("button[aria-label='Reject r2']")
    expect(page.locator("button[aria-label='Reject r2']")).to_have_attribute("aria-pressed", "true")
    page.click("button[aria-label='Reject r2']")
    expect(page.locator("button[aria-label='Reject r2']")).to_have_attribute(
        "aria-pressed", "false"
    )
    assert axe_violations(page) == []
    reviews = grasp_core.read_annotations(
        reading.studio.workspace / "greet/output/greet.annotations.jsonl"
    )
    assert {k: v["verdict"] for k, v in reviews.items()} == {"r1": "accept", "r2": None}
