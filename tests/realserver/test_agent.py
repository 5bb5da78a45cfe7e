"""An agent with one tool against llama.cpp's server (``chatml-function-calling``): the
server calls the tool on the first turn, and the turn that carries the call back to it must be
one it accepts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grasp_core import RunOptions, run_task
from tests.conftest import write_task
from tests.realserver.conftest import RECORDS, models_file
from tests.realserver.recording_proxy import Exchange, RecordingProxy

pytestmark = [pytest.mark.realserver, pytest.mark.timeout(900)]


# No system message: chatml-function-calling lists the tools only inside one, and the tiny
# model calls a tool when `functions` is not yet in the conversation (make_tiny_model.py).
TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/agent.jsonl}
graph_config:
  nodes:
    solve:
      node_type: agent
      output_keys: answer
      prompt:
        - user: "{question}"
      model: {name: agent}
      tools: [agent_tools.flip]
      max_steps: 4
  edges:
    - {from: START, to: solve}
    - {from: solve, to: END}
output_config:
  output_map:
    id: {from: id}
    answer: {from: answer}
    transcript: {from: answer_transcript}
"""

TOOLS = '''
def flip(flag: bool, note: str) -> str:
    """Turn a flag over and say what the note was."""
    return f"flipped to {not flag}; note {note!r}"
'''


def test_the_agent_calls_its_tool_and_the_server_accepts_the_call_turn(
    tmp_path: Path, proxy: RecordingProxy
) -> None:
    """Each record takes two requests: the first offers the tool with `tool_choice: auto` and
    gets a call (its arguments JSON with a raw newline in a string); the second carries the
    assistant turn with that call (its `content` a string, never null) and the tool's result,
    and gets the answer that is written."""
    rows = "".join(
        json.dumps({"id": f"r{i}", "question": f"Use the tool ({i})."}) + "\n"
        for i in range(RECORDS)
    )
    models = models_file(proxy.url, {"agent": "openai/tiny"})
    task = write_task(
        tmp_path, TASK, {"data.jsonl": rows, "models.yaml": models, "agent_tools.py": TOOLS}
    )
    result = run_task(task, RunOptions())
    exchanges = proxy.exchanges()
    offers = [e.request.get("tool_choice") for e in exchanges if "tools" in e.request]
    assert offers == ["auto"] * len(exchanges)
    errors = [(e.status, e.response) for e in exchanges if e.status != 200]
    assert errors == []
    assert (result.done, result.failed) == (RECORDS, 0), result.summary_path.read_text()
    assert len(exchanges) == 2 * RECORDS
    by_question: dict[str, list[Exchange]] = {}
    for exchange in exchanges:
        by_question.setdefault(exchange.user_text, []).append(exchange)
    for record in result.records():
        first, second = by_question[f"Use the tool ({record['id'][1:]})."]
        assert first.request["tool_choice"] == "auto"
        assert [t["function"]["name"] for t in first.request["tools"]] == ["flip"]
        call = first.response["choices"][0]["message"]["tool_calls"][0]
        assert call["function"]["name"] == "flip"
        # The arguments hold a raw newline inside a string (a grammar-bound server's JSON).
        arguments = json.loads(call["function"]["arguments"], strict=False)
        assert "\n" in arguments["note"]
        turns = second.request["messages"]
        assert [m["role"] for m in turns] == ["user", "assistant", "tool"]
        assert turns[1]["tool_calls"][0]["id"] == call["id"]
        assert turns[1].get("content", "") is not None
        assert turns[2]["role"] == "tool"
        assert turns[2]["tool_call_id"] == call["id"]
        assert (
            turns[2]["content"] == f"flipped to {not arguments['flag']}; note {arguments['note']!r}"
        )
        answer = second.response["choices"][0]["message"]["content"]
        assert record["answer"] == answer
        assert [m["role"] for m in record["transcript"]] == [
            "user",
            "assistant",
            "tool",
            "assistant",
        ]
