"""The retry of the failed records in Chromium's run view: started, watched, stopped as
Ctrl-C stops a run, started again to its end; its output opens from the view."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.studio.conftest import Studio
from tests.studio.finished_runs import goto
from tests.studio.test_retry_api import TASK, failed_run

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def test_a_retry_is_stopped_and_started_again_from_the_run_view(
    page: Any, studio_server: Studio
) -> None:
    """While its three records wait on the gate it runs; Stop ends it (stopped, exit 130);
    with the gate open, Start runs the three records again, and the output opens."""
    with ThreadPoolExecutor(1) as pool:  # the run starts its own event loop: not in this thread
        folder = pool.submit(failed_run, studio_server.workspace).result()
    goto(page, studio_server, "run", task=TASK, retry="true")
    assert page.locator("main h1").inner_text() == "Retry of the failed records"
    assert page.locator("#run-resume").is_hidden()
    page.click("#run-start")
    expect(page.locator("[data-counter='in_flight'] .value")).to_have_text("3", timeout=60_000)
    expect(page.locator("#run-state")).to_have_text("running")
    page.click("#run-stop")
    expect(page.locator("#run-state")).to_have_text("stopped", timeout=60_000)
    assert page.locator("[data-counter='done'] .value").inner_text() == "0"

    (folder / "gate").touch()
    page.click("#run-start")
    expect(page.locator("#run-state")).to_have_text("finished", timeout=60_000)
    assert page.locator("[data-counter='done'] .value").inner_text() == "3"
    page.click("#run-output")
    page.wait_for_selector("main[data-view='output'] #output-table tr.vrow")
    ids = page.locator("#output-table tr.vrow td:nth-child(2)").all_inner_texts()
    assert ids == ["r0", "r3", "r6"]
