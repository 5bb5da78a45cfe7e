"""MkDocs hook: the built site loads every script from itself, never from a CDN.

mkdocs-material loads Mermaid, and in browsers without ``ResizeObserver`` a polyfill, from
unpkg when a page needs them, so offline the diagrams stayed raw ``flowchart`` text. Both
are vendored under ``docs/assets/vendor/`` (each folder's ``SOURCE.txt`` says from which npm
package, with its licence); after the build this hook points the theme's bundle at those
copies, which also means a page loads Mermaid only when it has a diagram. A theme release
that moves or renames either URL fails the build here rather than in a reader's browser.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

VENDORED = {
    r"https://unpkg\.com/mermaid@11/dist/mermaid\.min\.js": "mermaid/mermaid.min.js",
    r"https://unpkg\.com/resize-observer-polyfill": "resize-observer-polyfill/ResizeObserver.js",
}
"""A CDN URL in the theme's bundle (a pattern) → the vendored file that replaces it."""


def on_post_build(config: Any, **_: Any) -> None:
    """Rewrite the theme bundle's CDN URLs to the vendored files, resolved against the
    site's root (``__md_scope``, which the theme sets on every page)."""
    site = Path(config["site_dir"])
    bundles = sorted((site / "assets" / "javascripts").glob("bundle.*.min.js"))
    if len(bundles) != 1:
        raise PluginError(f"offline_site: expected one theme bundle in {site}, found {bundles}")
    text = bundles[0].read_text(encoding="utf-8")
    for pattern, local in VENDORED.items():
        if not (site / "assets" / "vendor" / local).is_file():
            raise PluginError(f"offline_site: docs/assets/vendor/{local} is missing")
        text, count = re.subn(
            f'"{pattern}"', f'new URL("assets/vendor/{local}",__md_scope).href', text
        )
        if count != 1:
            raise PluginError(
                f"offline_site: the theme bundle has {count} occurrences of {pattern!r} "
                "(expected 1); the theme changed: update VENDORED in tools/offline_site.py"
            )
    bundles[0].write_text(text, encoding="utf-8")
