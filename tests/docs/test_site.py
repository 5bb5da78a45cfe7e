"""The documentation site builds in mkdocs' strict mode (broken links and nav fail it), and
loads nothing from outside itself."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CDN_HOSTS = re.compile(
    r"https?://(?:[\w-]+\.)*(?:unpkg\.com|jsdelivr\.net|cdnjs\.cloudflare\.com|"
    r"fonts\.googleapis\.com|fonts\.gstatic\.com|ajax\.googleapis\.com|code\.jquery\.com|"
    r"esm\.sh|skypack\.dev|polyfill\.io)\b[^\s\"'`)]*"
)
"""URLs of hosts that serve scripts, styles and fonts to pages."""
ASSET_ATTRIBUTES = {
    "script": "src",
    "img": "src",
    "iframe": "src",
    "source": "src",
    "audio": "src",
    "video": "src",
    "embed": "src",
    "link": "href",
    "object": "data",
}
"""Where an HTML page names a resource the browser fetches by itself."""


class _Assets(HTMLParser):
    """Collects the resource URLs of one page (a link's href only when it loads something:
    a stylesheet, an icon, a preload or a preconnect, not a plain hyperlink)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        name = ASSET_ATTRIBUTES.get(tag)
        if name is None or not values.get(name):
            return
        if tag == "link" and (values.get("rel") or "") in ("", "canonical", "alternate"):
            return
        self.urls.append(str(values[name]))


def _is_remote(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.netloc) and parts.hostname not in ("127.0.0.1", "localhost", "::1")


@pytest.mark.slow
def test_docs_build_strictly(built_site: Path) -> None:
    """The site builds with --strict, with the pages the other tests read."""
    assert (built_site / "reference" / "yaml" / "index.html").is_file()
    assert (built_site / "tutorial" / "index.html").is_file()
    assert (built_site / "assets" / "vendor" / "mermaid" / "mermaid.min.js").is_file()


@pytest.mark.slow
def test_the_site_names_no_cdn_and_loads_no_remote_asset(built_site: Path) -> None:
    """No page, script or stylesheet of the built site names a CDN, and no page or
    stylesheet loads a resource from another host: the site renders offline."""
    cdn: list[str] = []
    remote: list[str] = []
    for path in sorted(built_site.rglob("*")):
        if path.suffix not in (".html", ".js", ".css", ".json", ".xml"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        where = path.relative_to(built_site)
        cdn += [f"{where}: {m[0]}" for m in CDN_HOSTS.finditer(text)]
        if path.suffix == ".html":
            parser = _Assets()
            parser.feed(text)
            remote += [f"{where}: {url}" for url in parser.urls if _is_remote(url)]
        elif path.suffix == ".css":
            urls = re.findall(r"(?:url\(\s*['\"]?|@import\s+['\"])([^'\")\s]+)", text)
            remote += [f"{where}: {url}" for url in urls if _is_remote(url)]
    assert cdn == []
    assert remote == []


@pytest.mark.slow
def test_no_rendered_code_shows_an_escaped_pipe(built_site: Path) -> None:
    """Inside code, a table's ``\\|`` escape would be printed as is: code shows plain ``|``."""
    shown = [
        f"{path.relative_to(built_site)}: {code}"
        for path in sorted(built_site.rglob("*.html"))
        for code in re.findall(r"<code>(.*?)</code>", path.read_text(encoding="utf-8"), re.S)
        if "\\|" in code
    ]
    assert shown == []
