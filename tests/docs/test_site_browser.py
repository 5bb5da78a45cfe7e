"""The built site as a reader sees it: headless Chromium (Debian's ``chromium`` package,
driven by Playwright) loads the pages from a loopback server and the rendered DOM is checked.

Skipped, with the reason, when Chromium or Playwright is not installed. Playwright never
downloads a browser here: it drives ``/usr/bin/chromium``.
"""

from __future__ import annotations

import functools
import http.server
import runpy
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OPEN_SHADOWS = """
const attach = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (options) {
  return attach.call(this, {...options, mode: "open"});
};
"""
"""The theme renders each diagram into a closed shadow root; opened, the test can see it."""

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(300),
    pytest.mark.skipif(
        not CHROMIUM.is_file() and shutil.which("chromium") is None,
        reason="Debian's chromium is not installed (apt-get install chromium)",
    ),
]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output clean."""


@pytest.fixture(scope="module")
def site_url(built_site: Path) -> Iterator[str]:
    """The built site, served over loopback."""
    handler = functools.partial(_QuietHandler, directory=str(built_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class Browser:
    """One Chromium page; every request that is not to the loopback site is refused and
    recorded in ``outside``."""

    def __init__(self, page: Any, base: str) -> None:
        self.page = page
        self.base = base
        self.outside: list[str] = []

    def route(self, route: Any) -> None:
        url = route.request.url
        if urlsplit(url).hostname == "127.0.0.1" or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def open(self, path: str) -> Any:
        """Load ``path`` of the site and wait until the network is idle."""
        self.page.goto(self.base + path, wait_until="networkidle")
        return self.page


@pytest.fixture(scope="module")
def browser(site_url: str) -> Iterator[Browser]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    executable = CHROMIUM if CHROMIUM.is_file() else Path(str(shutil.which("chromium")))
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(executable), args=ARGS)
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        context.add_init_script(OPEN_SHADOWS)
        page = context.new_page()
        driver = Browser(page, site_url)
        context.route("**/*", driver.route)
        try:
            yield driver
        finally:
            context.close()
            chromium.close()


def _mermaid_pages(site: Path) -> dict[str, int]:
    """Page path → number of diagrams in its built HTML."""
    found = {}
    for html in sorted(site.rglob("index.html")):
        count = html.read_text(encoding="utf-8").count('class="mermaid"')
        if count:
            found[html.parent.relative_to(site).as_posix() + "/"] = count
    return found


def test_every_mermaid_diagram_renders_to_svg(browser: Browser, built_site: Path) -> None:
    """Each diagram becomes an SVG, offline: no raw ``flowchart`` text is left on the page,
    and nothing was fetched from another host."""
    pages = _mermaid_pages(built_site)
    assert {"tutorial/", "examples/"} <= set(pages)
    for path, count in pages.items():
        page = browser.open(path)
        page.wait_for_function(
            """n => {
                const shown = [...document.querySelectorAll("div.mermaid")];
                return shown.length === n
                    && shown.every(d => d.shadowRoot && d.shadowRoot.querySelector("svg"));
            }""",
            arg=count,
            timeout=60_000,
        )
        assert "flowchart TD" not in page.inner_text("article"), path
    assert browser.outside == []


def test_yaml_reference_keys_are_never_broken(browser: Browser) -> None:
    """Every key in the reference's first column is laid out on one line, whole."""
    page = browser.open("reference/yaml/")
    broken = page.evaluate(
        """() => [...document.querySelectorAll("article table td:first-child code")]
            .filter(code => code.getClientRects().length !== 1)
            .map(code => code.innerText)"""
    )
    total = page.locator("article table td:first-child code").count()
    assert total > 200
    assert broken == []
    assert browser.outside == []


@pytest.mark.parametrize("path", ["reference/yaml/", "reference/data/", "reference/validation/"])
def test_no_code_span_shows_an_escaped_pipe(browser: Browser, path: str) -> None:
    """A ``|`` inside code reads as ``|``, never as the table escape ``\\|``."""
    page = browser.open(path)
    shown = page.evaluate(
        """() => [...document.querySelectorAll("article code")]
            .map(code => code.innerText).filter(text => text.includes("\\\\|"))"""
    )
    assert shown == []


def test_yaml_reference_contents_are_whole_and_distinct(browser: Browser) -> None:
    """The right-hand contents list of the reference shows every entry in full, and no two
    entries under one parent read the same."""
    page = browser.open("reference/yaml/")
    lists = page.evaluate(
        """() => [...document.querySelectorAll(".md-sidebar--secondary nav.md-nav--secondary ul")]
            .map(list => [...list.children].map(item => {
                const link = item.querySelector(":scope > a");
                const text = link.querySelector(".md-ellipsis") || link;
                return {
                    text: link.innerText.trim(),
                    cut: text.scrollWidth > text.clientWidth || link.scrollWidth > link.clientWidth,
                };
            }))"""
    )
    entries = [entry for items in lists for entry in items]
    assert len(entries) > 50
    assert [e["text"] for e in entries if e["cut"]] == []
    for items in lists:
        texts = [e["text"] for e in items]
        assert len(texts) == len(set(texts)), texts


def test_the_gallery_describes_each_example_once(browser: Browser) -> None:
    """Under each example's heading there is one description, different from every other."""
    page = browser.open("examples/")
    sections = page.evaluate(
        """() => [...document.querySelectorAll("article h2")].map(h => {
            const texts = [];
            let el = h.nextElementSibling;
            for (; el && el.tagName !== "H2"; el = el.nextElementSibling) {
                if (el.tagName === "P") texts.push(el.innerText.trim());
            }
            return texts;
        })"""
    )
    gallery = runpy.run_path(str(REPO_ROOT / "tools" / "gallery.py"), run_name="gallery")
    assert len(sections) == len(gallery["GALLERY"])
    assert all(len(texts) == 1 for texts in sections), sections
    descriptions = [texts[0] for texts in sections]
    assert len(set(descriptions)) == len(descriptions)
    assert browser.outside == []
