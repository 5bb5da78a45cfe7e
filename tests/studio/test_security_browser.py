"""The token in a real browser: the Studio works under its capability URL, and another web
server on 127.0.0.1 never sees the token (no cookie carries it, no Referer shows it)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from tests.studio.conftest import Studio


class _Recorder(BaseHTTPRequestHandler):
    """Another local web server: it writes down every request line and header it gets."""

    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.seen.append(self.requestline)
        self.seen.extend(f"{name}: {value}" for name, value in self.headers.items())
        body = b"<!doctype html><title>other</title><p>another server</p>"
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads :attr:`seen`."""


@pytest.fixture
def other_server() -> Iterator[tuple[str, list[str]]]:
    """A web server on another 127.0.0.1 port: its address and what it was sent."""
    seen: ClassVar[list[str]] = []
    handler = type("Recorder", (_Recorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_another_local_server_never_receives_the_token(
    browser: Any, studio_server: Studio, other_server: tuple[str, list[str]]
) -> None:
    """After the Studio's URL is opened and used (a view that calls the API), the browser
    holds no cookie, and a page on another 127.0.0.1 port (opened directly, and by a link
    from the Studio's page) gets no header holding the token."""
    address, seen = other_server
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(studio_server.url + "#/flow?task=quickstart/task.yaml")
        page.wait_for_selector("main[data-view=flow]")
        page.wait_for_selector("svg")  # the graph came from the API, under the prefix
        assert context.cookies() == []
        page.evaluate(
            "(to) => { const a = document.createElement('a'); a.href = to; a.id = 'out';"
            " a.textContent = 'away';"
            " document.body.append(a); }",
            address + "/from-link",
        )
        page.click("#out")
        page.wait_for_url(address + "/from-link")
        other = context.new_page()
        other.goto(address + "/direct")
    finally:
        context.close()
    assert any("/from-link" in line for line in seen)
    assert any("/direct" in line for line in seen)
    assert not [line for line in seen if studio_server.token in line]
    assert not [line for line in seen if line.lower().startswith("cookie:")]
