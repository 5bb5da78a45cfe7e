"""Studio fixtures: a workspace holding copies of example tasks, a real Studio (uvicorn on a
free loopback port, in a thread, with ``--mock``) over it, and a Chromium page driving it.

Browser tests skip, with the reason, when Debian's chromium or Playwright is missing; the
browser is never downloaded. ``axe_violations`` runs axe-core (vendored in the
``axe-playwright-python`` package, injected into the page: nothing is fetched) and keeps the
serious and critical findings."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from grasp_studio.server import StudioServer
from tests.conftest import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
SCREENSHOTS = REPO_ROOT / "docs" / "assets" / "studio"

GATED_STEPS = '''
from pathlib import Path

import anyio

GATE = Path(__file__).with_name("gate")


async def wait_for_gate(state):
    """Records from number 100 on wait until the file `gate` exists beside this one: a run
    stopped meanwhile is stopped half-way, whatever the machine's speed."""
    if state["n"] >= 100:
        while not GATE.exists():
            await anyio.sleep(0.02)
    return len(state["fact"])
'''

GATED_TASK = """
# 200 records: one model call each, then a step that waits for a gate file
data_config:
  source: {type: disk, file_path: numbers.jsonl}
  sink: {type: jsonl, file_path: output/facts.jsonl}
graph_config:
  nodes:
    write:
      node_type: llm
      output_keys: fact
      prompt:
        - user: "Write fact number {n}."
      model: {name: writer}
    measure:
      node_type: lambda
      lambda: steps.wait_for_gate
      output_keys: length
  edges:
    - {from: START, to: write}
    - {from: write, to: measure}
    - {from: measure, to: END}
"""


@dataclass
class Studio:
    """A running Studio: ``base`` is its origin, ``app`` its tokened prefix
    (``base/<token>``), ``url`` the page to open; ``client`` is an HTTP client under ``app``."""

    server: StudioServer
    workspace: Path

    @property
    def base(self) -> str:
        return self.server.base_url

    @property
    def token(self) -> str:
        return self.server.token

    @property
    def app(self) -> str:
        """The Studio's prefix: every page, asset and API address is under it."""
        return f"{self.base}/{self.token}"

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def port(self) -> int:
        return int(self.base.rsplit(":", 1)[1])

    def client(self, **kwargs: Any) -> httpx.Client:
        """A client whose paths (``/api/...``) are under the tokened prefix, as the page's."""
        return httpx.Client(base_url=self.app, **kwargs)


def make_workspace(root: Path) -> Path:
    """``quickstart/`` (a copy of the example, without its output) and ``gated/`` (200
    records, see :data:`GATED_TASK`)."""
    quickstart = root / "quickstart"
    shutil.copytree(
        REPO_ROOT / "examples" / "quickstart",
        quickstart,
        ignore=shutil.ignore_patterns("output", "__pycache__"),
    )
    gated = root / "gated"
    gated.mkdir(parents=True)
    (gated / "task.yaml").write_text(textwrap.dedent(GATED_TASK).lstrip(), encoding="utf-8")
    numbers = "".join(f'{{"id": "{n}", "n": {n}}}\n' for n in range(200))
    (gated / "numbers.jsonl").write_text(numbers, encoding="utf-8")
    (gated / "steps.py").write_text(textwrap.dedent(GATED_STEPS).lstrip(), encoding="utf-8")
    (gated / "models.yaml").write_text(
        "writer:\n  model: openai/gpt-4o-mini\n  api_key_env: OPENAI_API_KEY\n", encoding="utf-8"
    )
    return root


@pytest.fixture
def studio_server(tmp_path: Path) -> Iterator[Studio]:
    """A Studio with ``--mock`` over a fresh workspace (see :func:`make_workspace`)."""
    workspace = make_workspace(tmp_path / "workspace")
    server = StudioServer(workspace, port=0, mock=True)
    with server.running():
        yield Studio(server, workspace)


@pytest.fixture
def browser() -> Iterator[Any]:
    """Chromium, for one test. Not shared between tests: Playwright's sync API keeps an
    event loop marked running in this thread while it is open, so ``asyncio.run`` (and
    ``grasp_core.run``) would fail in every test after it, and in module fixtures made
    later; per test, it is open only while that test's page is."""
    if not CHROMIUM.is_file():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any, studio_server: Studio) -> Iterator[Any]:
    """A page opened at ``studio_server``'s tokened URL; any request leaving the Studio (its
    origin) is refused and fails the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    outside: list[str] = []

    def guard(route: Any) -> None:
        if route.request.url.startswith(studio_server.base):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(studio_server.url)
    page.wait_for_selector("main[data-view]")
    try:
        yield page
    finally:
        context.close()
    assert not outside, f"requests left the Studio: {outside}"
    assert not errors, f"errors in the page: {errors}"


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    violations: list[dict[str, Any]] = results.response["violations"]
    return [v for v in violations if v.get("impact") in ("serious", "critical")]


def screenshot(page: Any, name: str) -> None:
    """Save the page for the docs (``docs/assets/studio/NAME.png``) when asked to: the
    ``GRASP_STUDIO_SCREENSHOTS`` variable is set by ``tools/studio_screenshots.py``."""
    import os

    if os.environ.get("GRASP_STUDIO_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
