"""A web agent started on a local page stays inside that page's folder, whatever takes it
out: a `goto`, a link, or a script's redirect (the browser refuses the request)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grasp_core.mock_server import MockServer
from tests.nodes.web_agent.pages import by_id, call, failures, page, run_web

pytestmark = pytest.mark.anyio

SECRET = "the-local-secret-0x5eed"


def _site(folder: Path) -> Path:
    """A local site in ``folder/site`` whose pages lead to ``folder/secret.txt``."""
    (folder / "secret.txt").write_text(SECRET, encoding="utf-8")
    site = folder / "site"
    site.mkdir()
    click = f"<p>{call('click', {'element': 1})}</p>"
    pages = {
        "link.html": page("Link", f'{click}<a href="../secret.txt">read</a>'),
        "jump.html": page("Jump", f'{click}<a href="redirect.html">next</a>'),
        "redirect.html": page("Redirect", "<script>location.href = '../secret.txt'</script>"),
        "inside.html": page("Inside", f'{click}<a href="other.html">other</a>'),
        "other.html": page("Other", f"<p>{call('done', {'answer': 'inside'})}</p>"),
    }
    for name, text in pages.items():
        (site / name).write_text(text, encoding="utf-8")
    return site


async def test_links_and_redirects_cannot_leave_the_start_folder(
    tmp_path: Path, mock_server: MockServer, browser: str
) -> None:
    """A link or a redirect to a file outside the start page's folder is refused in the
    browser: the click fails its step with the reason, and the file's text reaches neither
    the model nor the output; pages inside the folder still open."""
    site = _site(tmp_path)
    rows = [
        {"id": name, "goal": "read", "url": (site / f"{name}.html").as_uri()}
        for name in ("link", "jump", "inside")
    ]
    result = await run_web(tmp_path, mock_server, rows, max_steps=2)
    assert result.done == 3, failures(result)
    records = by_id(result)
    assert SECRET not in json.dumps(records)
    outside = (tmp_path / "secret.txt").as_uri()
    assert records["link"]["trajectory"][0]["error"] == (
        f"cannot open {outside!r}: a file: URL must be inside the start page's folder {str(site)!r}"
    )
    assert records["inside"]["agent_result"]["agent_message"] == "inside"
