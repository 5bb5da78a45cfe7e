"""The web agent tests' local site (its pages and their handler) and one-node tasks.

The mock model answers tool calls written as markers in the last user message: a page
whose text holds ``[[mock:call:click {"element": 1}]]`` makes the mock click element 1
when it sees that page, as a real model decides from what it sees.
"""

from __future__ import annotations

import html
import http.server
import json
import urllib.parse
from pathlib import Path
from typing import Any, ClassVar

from grasp_core import RunOptions, RunResult, Task, run_task_async
from grasp_core.mock_server import MockServer

MODELS = """\
m:
  model: openai/m
  api_base: http://127.0.0.1:1/v1
  max_retries: 0
  timeout: 60
"""
BROWSERS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


def page(title: str, body: str) -> str:
    return f"<html><head><title>{title}</title></head><body>{body}</body></html>"


def call(name: str, arguments: dict[str, Any] | None = None) -> str:
    """A call marker, as page text."""
    return html.escape(f"[[mock:call:{name} {json.dumps(arguments or {})}]]")


def _route(path: str, query: dict[str, str]) -> str | None:
    if path == "/":
        link = '<a href="/form">Go to the form</a>'
        return page("Home", f"<h1>Home</h1><p>{call('click', {'element': 1})}</p>{link}")
    if path == "/form":
        form = '<form action="/thanks"><input name="name" placeholder="Your name">'
        form += "<button>Send</button></form>"
        typed = call("type", {"element": 1, "text": "Ada", "submit": True})
        return page("Form", f"{form}<p>{typed}</p>")
    if path == "/thanks":
        name = html.escape(query.get("name", ""))
        return page("Thanks", f"<p>Thanks, {name}!</p><p>{call('done', {'answer': name})}</p>")
    if path == "/say":  # a page whose marker the test chooses: /say?m=<marker text>
        marker = html.escape(query.get("m", ""))
        return page("Say", f'<a href="/plain">Next</a> <input name="q"><p>{marker}</p>')
    if path == "/busy":  # clicked, its script never yields: the page never answers again
        button = '<button onclick="setTimeout(() => { while (true) {} })">Wait</button>'
        return page("Busy", f"<p>{call('click', {'element': 1})}</p>{button}")
    if path == "/jump":  # its script sends the browser on to /jump?to=<url>
        target = json.dumps(query.get("to", "/plain")).replace("<", "\\u003c")
        return page("Jump", f"<script>location.href = {target}</script>")
    if path == "/plain":
        return page("Plain", '<p>Nothing to do here.</p><a href="/">Home</a>')
    return None


class Handler(http.server.BaseHTTPRequestHandler):
    served: ClassVar[list[str]] = []
    """The paths served, in order (a test waits for its browser to reach a page)."""

    def do_GET(self) -> None:
        parts = urllib.parse.urlsplit(self.path)
        self.served.append(self.path)
        query = dict(urllib.parse.parse_qsl(parts.query))
        body = _route(parts.path, query)
        data = (body or "not found").encode()
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


def say(site: str, marker: str) -> str:
    """The URL of a page showing ``marker``."""
    return f"{site}/say?" + urllib.parse.urlencode({"m": marker})


def web_task(folder: Path, rows: list[dict[str, Any]], **node: Any) -> Task:
    """A one-node web_agent task over ``rows`` (model `m`, no screenshots unless asked)."""
    (folder / "models.yaml").write_text(MODELS, encoding="utf-8")
    lines = "".join(json.dumps(row) + "\n" for row in rows)
    (folder / "data.jsonl").write_text(lines, encoding="utf-8")
    config = {"node_type": "web_agent", "model": {"name": "m"}, "use_screenshot": False, **node}
    return Task.from_dict(
        {
            "data_config": {"source": {"type": "disk", "file_path": "data.jsonl"}},
            "graph_config": {
                "nodes": {"web": config},
                "edges": [{"from": "START", "to": "web"}, {"from": "web", "to": "END"}],
            },
        },
        task_dir=folder,
    )


async def run_web(
    folder: Path, server: MockServer, rows: list[dict[str, Any]], **node: Any
) -> RunResult:
    task = web_task(folder, rows, **node)
    return await run_task_async(task, RunOptions(mock=server.url, output_dir=folder / "out"))


def by_id(result: RunResult) -> dict[str, dict[str, Any]]:
    return {str(record["id"]): record for record in result.records()}


def failures(result: RunResult) -> list[dict[str, Any]]:
    lines = result.failures_path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def browsers_with(flag: str) -> list[str]:
    """Processes whose command line holds ``flag``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if flag in text:
            found.append(text)
    return found
