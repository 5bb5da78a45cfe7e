"""A cache hit computes its key without copying the messages (``_as_sent``), and still files
the request exactly as the call that stored the reply did: a history turn that
``wire_message`` changes (an assistant's tool calls with no text) is hit on the rerun."""

from __future__ import annotations

import contextvars
import json
from pathlib import Path

from grasp_core import RunOptions, run_task
from grasp_core.mock_server import MockServer
from grasp_core.models.cache import ResponseCache
from grasp_core.models.cache_key import enter_node_run, request_key
from tests.conftest import write_task

TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out.jsonl, ordered: true}  # the same bytes each run
graph_config:
  nodes:
    answer:
      node_type: llm
      output_keys: reply
      prompt: [{system: "answer after the tool ran"}]
      append_messages: history
      model: {name: m}
  edges:
    - {from: START, to: answer}
    - {from: answer, to: END}
"""

_CALL = {"id": "c1", "type": "function", "function": {"name": "look", "arguments": "{}"}}
ROWS = "".join(
    json.dumps(
        {
            "id": f"r{i}",
            "history": [
                {"role": "user", "content": f"look up {i}"},
                {"role": "assistant", "content": None, "tool_calls": [_CALL]},
                {"role": "tool", "content": f"found {i}", "tool_call_id": "c1"},
            ],
        }
    )
    + "\n"
    for i in range(3)
)


def _key(record: str, messages: list[dict[str, object]]) -> str:
    def key() -> str:
        enter_node_run(record, "answer", 0)
        key = request_key(
            route="openai/m",
            api_base="mock/v1",
            api_version=None,
            messages=messages,
            params={},
            mode="record",
        )
        assert key is not None
        return key

    return contextvars.copy_context().run(key)


def test_a_turn_the_wire_changes_is_hit_on_the_rerun(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """The first run sends the tool-call turn with ``content: ""`` and stores the replies;
    the rerun sends nothing and writes the same output."""
    task = write_task(tmp_path, TASK, {"data.jsonl": ROWS, "models.yaml": "m: {model: openai/m}\n"})
    options = RunOptions(mock=mock_server.url, overwrite=True, cache_dir=tmp_path / "cache")
    mock_server.reset()
    first = run_task(task, options)
    sent = mock_server.requests()
    assert first.done == 3
    assert len(sent) == 3
    assert all(request["messages"][2]["content"] == "" for request in sent)
    written = (tmp_path / "out.jsonl").read_bytes()
    cache = ResponseCache(tmp_path / "cache").open()
    try:  # filed under the documented key of the messages as sent
        for request in sent:
            record = "r" + request["messages"][1]["content"].split()[-1]
            assert cache.get(_key(record, request["messages"])) is not None
    finally:
        cache.close()

    mock_server.reset()
    again = run_task(task, options)
    assert mock_server.requests() == []
    assert again.metrics["totals"]["cache"]["hits"] == 3
    assert (tmp_path / "out.jsonl").read_bytes() == written
