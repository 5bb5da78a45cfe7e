"""A one-node agent task over a kit of tools, run against the mock server, and reading its
records, failures and tool messages back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grasp_core import RunOptions, RunResult, Task, run_task_async
from grasp_core.mock_server import MockServer

KIT = """\
import threading

import anyio

_events = {}


def _event(name):
    if name not in _events:
        _events[name] = anyio.Event()
    return _events[name]


async def ping() -> str:
    \"\"\"Wait until pong runs too.\"\"\"
    _event("ping").set()
    with anyio.fail_after(5):
        await _event("pong").wait()
    return "ping saw pong"


async def pong() -> str:
    \"\"\"Wait until ping runs too.\"\"\"
    _event("pong").set()
    with anyio.fail_after(5):
        await _event("ping").wait()
    return "pong saw ping"


def where() -> dict:
    \"\"\"Tell which thread the tool runs in.\"\"\"
    return {"worker_thread": threading.current_thread() is not threading.main_thread()}


def add(a: int, b: int) -> int:
    \"\"\"Add two integers.\"\"\"
    return a + b


def boom(reason: str) -> str:
    \"\"\"Always fail.\"\"\"
    raise ValueError(f"no luck: {reason}")


def untyped(x):
    return x
"""

MODELS = """\
m:
  model: openai/m
  api_base: http://127.0.0.1:1/v1
  max_retries: 0
  timeout: 10
  transport: {transport}
"""


def agent_task(
    folder: Path,
    questions: list[str],
    transport: str,
    graph: dict[str, Any] | None = None,
    **node: Any,
) -> Task:
    """A one-node agent task: prompt `be exact` + `{q}`, tools from ``kit.py``."""
    (folder / "kit.py").write_text(KIT, encoding="utf-8")
    (folder / "models.yaml").write_text(MODELS.format(transport=transport), encoding="utf-8")
    rows = "".join(json.dumps({"id": i, "q": q}) + "\n" for i, q in enumerate(questions))
    (folder / "data.jsonl").write_text(rows, encoding="utf-8")
    config = {
        "node_type": "agent",
        "prompt": [{"system": "be exact"}, {"user": "{q}"}],
        "model": {"name": "m"},
        "tools": ["kit.ping", "kit.pong", "kit.where", "kit.add", "kit.boom"],
        **node,
    }
    return Task.from_dict(
        {
            "data_config": {"source": {"type": "disk", "file_path": "data.jsonl"}},
            "graph_config": {
                **(graph or {}),
                "nodes": {"agent": config},
                "edges": [{"from": "START", "to": "agent"}, {"from": "agent", "to": "END"}],
            },
        },
        task_dir=folder,
    )


async def run(
    folder: Path,
    server: MockServer,
    questions: list[str],
    transport: str,
    graph: dict[str, Any] | None = None,
    **node: Any,
) -> RunResult:
    task = agent_task(folder, questions, transport, graph, **node)
    return await run_task_async(task, RunOptions(mock=server.url, output_dir=folder / "out"))


def by_id(result: RunResult) -> dict[int, dict[str, Any]]:
    return {record["id"]: record for record in result.records()}


def failures(result: RunResult) -> list[dict[str, Any]]:
    lines = result.failures_path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def tool_messages(record: dict[str, Any]) -> list[str]:
    return [m["content"] for m in record["agent_transcript"] if m["role"] == "tool"]
