"""The web agent's tests: a local site served over HTTP, and the browser they drive
(skipping, with the reason, when there is none)."""

from __future__ import annotations

import http.server
import shutil
import threading
from collections.abc import Iterator

import pytest

from tests.nodes.web_agent.pages import BROWSERS, Handler


@pytest.fixture(scope="session")
def site() -> Iterator[str]:
    """The local site's base URL (no trailing slash)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> str:
    """The system's Chromium, named through $GRASP_BROWSER; skips without it or Playwright."""
    pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    found = next((path for path in BROWSERS if shutil.which(path)), None)
    if found is None:
        pytest.skip("no system Chromium (Debian: apt-get install chromium)")
    monkeypatch.setenv("GRASP_BROWSER", found)
    return found
