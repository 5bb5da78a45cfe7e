"""Every problem of a task at once, in Chromium: two broken nodes, an edge to an unknown
node and an unknown sink type, saved from the YAML editor, are each listed, marked on their
node and on their YAML line; fixing them clears every mark."""

from __future__ import annotations

from typing import Any

import pytest

from tests.studio.conftest import Studio, axe_violations
from tests.studio.test_validate_api import BROKEN, break_quickstart

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def test_every_problem_shows_on_its_node_and_line(page: Any, studio_server: Studio) -> None:
    """Four problems from four independent parts: four items, the two nodes marked, four
    gutter marks on exactly their lines; the original text saves clean."""
    page.click("a[aria-label='flow quickstart/task.yaml']")
    page.wait_for_selector("#flow-status .ok")
    original = page.input_value("#yaml")
    broken, lines = break_quickstart(original)
    page.fill("#yaml", broken)
    page.click("#save-yaml")
    page.wait_for_selector("#flow-status .error")
    items = page.locator("#problems li").all_inner_texts()
    assert len(items) == len(BROKEN)
    for line in lines.values():
        assert any(item.startswith(f"line {line},") for item in items), (line, items)
    marked = page.locator("#canvas g.node.problem")
    assert {marked.nth(i).get_attribute("data-node") for i in range(marked.count())} == {
        "ask",
        "critique",
    }
    gutter = page.locator(".editor .gutter .bad")
    assert {int(gutter.nth(i).get_attribute("data-line")) for i in range(gutter.count())} == set(
        lines.values()
    )
    assert axe_violations(page) == []

    page.fill("#yaml", original)
    page.click("#save-yaml")
    page.wait_for_selector("#flow-status .ok")
    assert page.locator("#canvas g.node.problem").count() == 0
    assert page.locator(".editor .gutter .bad").count() == 0
