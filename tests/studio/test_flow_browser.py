"""The flow view in Chromium: open a task, add a node and connect it on the canvas, fix the
validation error it brings, edit the YAML; every edit lands in the file with its comments."""

from __future__ import annotations

from typing import Any

import pytest

from tests.studio.conftest import Studio, axe_violations, screenshot

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def _open_flow(page: Any) -> None:
    page.click("a[aria-label='flow quickstart/task.yaml']")
    page.wait_for_selector("#canvas g[data-node='ask']")
    page.wait_for_selector("#flow-status .ok")


def test_the_workspace_and_flow_views_pass_axe(page: Any) -> None:
    """The workspace lists both tasks; the flow view draws the graph; axe finds no serious
    or critical problem on either."""
    assert page.locator("main h1").inner_text() == "Workspace"
    assert page.locator("table[aria-label='Tasks'] tbody tr").count() == 2
    assert axe_violations(page) == []
    screenshot(page, "home")
    _open_flow(page)
    drawn = page.locator("#canvas g[data-node]")
    names = {drawn.nth(i).get_attribute("data-node") for i in range(drawn.count())}
    assert names == {"START", "ask", "answer", "critique", "word_count", "END"}
    assert page.locator("#canvas g.node.llm").count() == 3
    assert page.locator("#canvas g.node.lambda").count() == 1
    assert page.locator("#canvas g.edge").count() == 6
    page.click("#canvas g[data-node='ask']")
    page.wait_for_selector("#nodeform form")
    assert "State key(s) this node writes" in page.locator("#nodeform").inner_text()
    assert axe_violations(page) == []
    screenshot(page, "flow")


def test_add_connect_and_fix_a_node_on_the_canvas(page: Any, studio_server: Studio) -> None:
    """A new lambda node is unreachable and names a missing function: both problems show on
    the node and its YAML line; connecting it on the canvas and setting its function in the
    form fixes them, and the file keeps its comments and key order."""
    _open_flow(page)
    page.fill("#new-name", "shout")
    page.select_option("#new-type", "lambda")
    page.click("form[aria-label='Add a node'] button[type=submit]")
    page.wait_for_selector("#canvas g.node.problem[data-node='shout']")
    assert "unreachable" in page.locator("#problems").inner_text()
    assert page.locator(".editor .gutter .bad").count() >= 1

    page.click("#canvas g[data-node='answer']")
    page.click("text=Connect to…")
    page.click("#canvas g[data-node='shout']")
    page.wait_for_selector("#canvas g.edge[data-from='answer'][data-to='shout']")
    page.select_option("#edge-from", "shout")
    page.select_option("#edge-to", "END")
    page.click("form[aria-label='Connect two nodes'] button[type=submit]")
    page.wait_for_selector("#canvas g.edge[data-from='shout'][data-to='END']")
    # reachable now: what is left is the function that does not exist
    page.wait_for_selector("#problems li:has-text('steps.todo')")

    page.click("#canvas g[data-node='shout']")
    page.fill("#field-shout-lambda", "steps.count_words")
    page.click("#nodeform button[type=submit]")
    page.wait_for_selector("#flow-status .ok")
    assert page.locator("#canvas g.node.problem").count() == 0

    text = (studio_server.workspace / "quickstart" / "task.yaml").read_text(encoding="utf-8")
    assert text.startswith("# Quickstart: pair each topic with a question")
    assert "  nodes:\n    ask:\n      node_type: llm\n" in text
    assert "    shout:\n      node_type: lambda\n      lambda: steps.count_words\n" in text
    assert "    - from: answer\n      to: shout\n" in text


def test_a_yaml_error_shows_on_its_line_and_saving_the_fix_clears_it(
    page: Any, studio_server: Studio
) -> None:
    """An edge to a node that does not exist, typed in the YAML editor: the problem names
    its line, the gutter marks it; the corrected text saves clean."""
    _open_flow(page)
    original = page.input_value("#yaml")
    page.fill("#yaml", original.replace("to: word_count", "to: wordcount"))
    page.click("#save-yaml")
    page.wait_for_selector("#problems li")
    problem = page.locator("#problems li").first.inner_text()
    line = original.splitlines().index("      to: word_count") + 1
    assert f"line {line}" in problem
    assert "unknown node 'wordcount'" in problem
    assert page.locator(f".editor .gutter .bad[data-line='{line}']").count() == 1
    page.fill("#yaml", original)
    page.click("#save-yaml")
    page.wait_for_selector("#flow-status .ok")
    saved = (studio_server.workspace / "quickstart" / "task.yaml").read_text(encoding="utf-8")
    assert saved == original


def test_unsaved_yaml_is_never_overwritten_by_a_canvas_edit(
    page: Any, studio_server: Studio
) -> None:
    """Typed but unsaved YAML: an edit on the canvas is refused with one line, the text
    stays in the editor and the file is unchanged; after Discard, the edit goes through."""
    _open_flow(page)
    task = studio_server.workspace / "quickstart" / "task.yaml"
    before = task.read_text(encoding="utf-8")
    page.fill("#yaml", before + "# a note not saved yet\n")
    page.fill("#new-name", "extra")
    page.click("form[aria-label='Add a node'] button[type=submit]")
    page.wait_for_selector("#flow-status .error")
    assert "unsaved changes" in page.locator("#flow-status").inner_text()
    assert page.input_value("#yaml").endswith("# a note not saved yet\n")
    assert task.read_text(encoding="utf-8") == before
    page.click("#discard-yaml")
    page.click("form[aria-label='Add a node'] button[type=submit]")
    page.wait_for_selector("#canvas g[data-node='extra']")
    assert "    extra:\n      node_type: lambda\n" in task.read_text(encoding="utf-8")
