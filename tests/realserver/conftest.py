"""Fixtures for the real-server tests: llama.cpp's server with the tiny model, behind a
recording proxy, and task folders whose models file points at it.

These tests run only when ``$GRASP_REALSERVER_MODEL`` names a built model (``nox -s
realserver`` builds one and sets it); otherwise each is skipped, and nothing is built or started.
"""

from __future__ import annotations

import json
import os
import runpy
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT, write_task
from tests.realserver.recording_proxy import Exchange, RecordingProxy

KEY_ENV = "GRASP_REALSERVER_KEY"
"""The variable the models file names for the key (llama.cpp checks none; routes want one)."""

ENTRY = """\
{name}:
  model: {route}
  api_base: {url}
  api_key_env: {key_env}
  max_concurrency: 2
  timeout: 300
  max_retries: 2
  parameters: {{temperature: 0, max_tokens: 48}}
"""


@pytest.fixture(scope="session")
def llama_url() -> Iterator[str]:
    """The base URL of llama-cpp-python's server, started once for the session."""
    model = os.environ.get("GRASP_REALSERVER_MODEL")
    if not model:
        pytest.skip("real-server tests need GRASP_REALSERVER_MODEL; run `nox -s realserver`")
    # Loaded by path: importing a package named `tools` would shadow the `tools.py` modules
    # that task folders (and the examples) keep their agent tools in.
    serve: Any = runpy.run_path(str(REPO_ROOT / "tools" / "realserver" / "serve.py"))
    with serve["LlamaServer"](Path(model)) as server:
        yield server.url


@pytest.fixture
def proxy(llama_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingProxy]:
    """A fresh recording proxy in front of the server; the key variable is set."""
    monkeypatch.setenv(KEY_ENV, "sk-realserver-test")
    with RecordingProxy(llama_url).running() as running:
        yield running


def models_file(url: str, entries: dict[str, str], extra: dict[str, str] | None = None) -> str:
    """A models file: name → route, each entry pointing at ``url``; ``extra`` adds YAML lines
    (already indented by two spaces) to the named entries."""
    text = ""
    for name, route in entries.items():
        text += ENTRY.format(name=name, route=route, url=url, key_env=KEY_ENV)
        if extra and name in extra:
            text += textwrap.indent(textwrap.dedent(extra[name]), "  ")
    return text


RECORDS = 5
"""Records per run: enough to interleave calls, few enough for a slow server."""

CHAIN = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/chain.jsonl}
graph_config:
  nodes:
    ask:
      node_type: llm
      output_keys: draft
      prompt:
        - user: "ask {id}: say something about {topic}"
      model: {name: MODEL}
    answer:
      node_type: llm
      output_keys: final
      prompt:
        - user: "answer {id}: rewrite this: {draft}"
      model: {name: MODEL}
  edges:
    - {from: START, to: ask}
    - {from: ask, to: answer}
    - {from: answer, to: END}
output_config:
  output_map:
    id: {from: id}
    draft: {from: draft}
    final: {from: final}
"""

ROUTES = {
    "openai": "openai/tiny",
    "hosted_vllm": "hosted_vllm/tiny",
    "litellm": "openai/tiny",
    "template": "openai/tiny-template",
}
"""Entry name → route. `litellm` goes through litellm (`transport: litellm`), the others through
the fast lane; `template` is the server's ChatML template instead of its function-calling format."""


def chain_task(folder: Path, proxy: RecordingProxy, name: str, records: int = RECORDS) -> Path:
    """The chain over ``records`` records, calling the models-file entry ``name``."""
    rows = "".join(
        json.dumps({"id": f"r{i}", "topic": f"topic number {i}"}) + "\n" for i in range(records)
    )
    extra = {"litellm": "transport: litellm\n"}
    return write_task(
        folder,
        CHAIN.replace("MODEL", name),
        {"data.jsonl": rows, "models.yaml": models_file(proxy.url, ROUTES, extra)},
    )


def reply_text(exchange: Exchange) -> str:
    content: str = exchange.response["choices"][0]["message"]["content"]
    return content
