"""The Studio's docs page shows one screenshot per view, and each is in the repository
(``python tools/studio_screenshots.py`` takes them)."""

from __future__ import annotations

import re

from tests.conftest import REPO_ROOT
from tests.studio.conftest import SCREENSHOTS

VIEWS = ("home", "flow", "try", "run", "output", "record", "failures", "compare", "review")

PNG = b"\x89PNG\r\n\x1a\n"


def test_every_view_has_a_screenshot_shown_on_the_studio_page() -> None:
    """Each view's PNG exists (a real PNG, not empty) and the page embeds it, with alt text."""
    page = (REPO_ROOT / "docs" / "how-to" / "studio.md").read_text(encoding="utf-8")
    embedded = re.findall(r"!\[([^\]]+)\]\(\.\./assets/studio/(\w+)\.png\)", page)
    shown = {name: alt for alt, name in embedded}
    assert sorted(shown) == sorted(VIEWS)
    for view in VIEWS:
        picture = SCREENSHOTS / f"{view}.png"
        assert picture.read_bytes().startswith(PNG), picture
        assert picture.stat().st_size > 10_000, picture
        assert shown[view].strip()
