"""The try view in Chromium: pick two records, run the graph on them through the mock, and
read per node the prompt as sent, the raw reply, the state change and the call's figures,
with the estimate of the whole run. Nothing is written where the run writes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.studio.conftest import Studio, axe_violations, screenshot

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def test_try_two_records_node_by_node_with_the_estimate(page: Any, studio_server: Studio) -> None:
    """Two picked records: each shows its four node runs; the first call's prompt is the
    rendered template and its raw reply the mock's echo; the estimate of the whole run is 36
    model calls (12 records × 3 llm nodes); no output file appears."""
    page.click("a[aria-label='try quickstart/task.yaml']")
    page.wait_for_selector("#pick-topic-000")
    assert axe_violations(page) == []
    page.check("#pick-topic-000")
    page.check("#pick-topic-002")
    page.click("#try-button")
    page.wait_for_selector("#try-results section.record[data-record='topic-002']")

    sections = page.locator("#try-results section.record")
    assert sections.count() == 2
    first = page.locator("section.record[data-record='topic-000']")
    runs = first.locator("details.node-run")
    assert {runs.nth(i).get_attribute("data-node") for i in range(runs.count())} == {
        "ask",
        "answer",
        "critique",
        "word_count",
    }
    ask = first.locator("details.node-run[data-node='ask']")
    prompt = ask.locator("pre.prompt").inner_text()
    assert "Write a question about photosynthesis for a beginner learner." in prompt
    assert "You write one clear question a student might ask." in prompt
    reply = ask.locator("pre.response").inner_text()
    assert reply == "Write a question about photosynthesis for a beginner learner."
    assert (
        '"question": "Write a question about photosynthesis'
        in ask.locator("pre.update").inner_text()
    )
    assert "tokens" in ask.locator("summary").inner_text()
    recursion = page.locator("section.record[data-record='topic-002'] pre.prompt").first
    assert "recursion" in recursion.inner_text()

    calls = page.locator("#estimate tr[data-figure='Model calls'] td")
    assert calls.nth(0).inner_text() == "3"
    assert calls.nth(1).inner_text() == "36"
    assert "mock server" in page.locator("#try-results").inner_text()
    assert axe_violations(page) == []
    screenshot(page, "try")
    assert not (studio_server.workspace / "quickstart" / "output").exists()
