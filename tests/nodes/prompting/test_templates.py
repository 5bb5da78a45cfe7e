"""Prompt templates: `{var}` and `{a.b}` fields, `{{`/`}}` literals, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grasp_core import CompileError, ConfigError, NodeError, RunOptions, run_task
from grasp_nodes.prompting.templates import Template
from tests.conftest import write_task


def render(text: str, state: dict[str, object]) -> str:
    return Template(text, where="test").render(state, record_id="r1", node="ask")


def test_variables_are_substituted() -> None:
    """Each `{name}` is replaced by that state key's value; non-strings are str()-ed."""
    assert render("Hi {name}, you are {age}.", {"name": "Ada", "age": 36}) == "Hi Ada, you are 36."


def test_dotted_fields_reach_into_nested_values() -> None:
    """`{a.b}` walks nested dicts, and a numeric part indexes a list."""
    state = {"user": {"name": "Ada", "langs": ["en", "fr"]}}
    assert render("{user.name} speaks {user.langs.1}", state) == "Ada speaks fr"


def test_a_key_with_a_dot_wins_over_nesting() -> None:
    """A state key spelled `a.b` is used as is before a nested lookup is tried."""
    assert render("{a.b}", {"a.b": "flat", "a": {"b": "nested"}}) == "flat"


def test_doubled_braces_are_literal_braces() -> None:
    """`{{` and `}}` render as single braces around substituted fields."""
    assert render('Answer as JSON: {{"topic": "{topic}"}}', {"topic": "space"}) == (
        'Answer as JSON: {"topic": "space"}'
    )


def test_doubled_braces_are_literal_even_without_fields() -> None:
    """A template without any field still turns `{{`/`}}` into single braces."""
    assert render("Reply with {{}} only", {}) == "Reply with {} only"


def test_missing_variable_names_the_variable_node_and_record() -> None:
    """A field absent from the state is a NodeError naming the field, node and record id."""
    template = Template("Write about {topic} for {level}", where="test")
    with pytest.raises(NodeError, match=r"prompt variable \{level\} is not in the record state"):
        template.render({"topic": "space"}, record_id="rec-42", node="ask")
    with pytest.raises(NodeError) as info:
        template.render({"topic": "space"}, record_id="rec-42", node="ask")
    assert "record 'rec-42'" in str(info.value)
    assert "node 'ask'" in str(info.value)
    assert "keys: topic" in str(info.value)
    assert info.value.node == "ask"


@pytest.mark.parametrize("text", ["hello {unclosed", "a } b", "empty {} field"])
def test_malformed_template_is_a_config_error(text: str) -> None:
    """Unbalanced braces or an empty field are refused when the template is built."""
    with pytest.raises(ConfigError, match=r"graph_config\.nodes\.ask\.prompt\[0\]") as info:
        Template(text, where="graph_config.nodes.ask.prompt[0]")
    assert "{{" in str(info.value) or "name a state key" in str(info.value)


TASK = """\
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/result.jsonl}
graph_config:
  nodes:
    ask:
      node_type: llm
      output_keys: reply
      prompt:
        - system: "Be brief."
        - user: "{{literal}} {who} likes {pet.name}"
      model: {name: m}
  edges:
    - {from: START, to: ask}
    - {from: ask, to: END}
output_config:
  output_map:
    id: {from: id}
    reply: {from: reply}
"""


def test_rendered_prompt_reaches_the_model(tmp_path: Path, mock_url: str) -> None:
    """The llm node sends the rendered prompt; a record missing a field fails with its name."""
    rows = [
        {"id": "r1", "who": "Ada", "pet": {"name": "Rex"}},
        {"id": "r2", "who": "Bob"},
    ]
    data = "".join(json.dumps(row) + "\n" for row in rows)
    task = write_task(tmp_path, TASK, {"data.jsonl": data})

    result = run_task(task, RunOptions(mock=mock_url))

    assert list(result.records()) == [{"id": "r1", "reply": "{literal} Ada likes Rex"}]
    (failure,) = [json.loads(line) for line in result.failures_path.read_text().splitlines()]
    assert (failure["id"], failure["node"], failure["error"]) == ("r2", "ask", "NodeError")
    assert "prompt variable {pet.name}" in failure["reason"]
    assert "record 'r2'" in failure["reason"]


def test_malformed_prompt_fails_at_build_time(tmp_path: Path, mock_url: str) -> None:
    """A bad template stops the run before any record, naming the node and the message."""
    task = write_task(
        tmp_path,
        TASK.replace("{{literal}} {who}", "{unclosed who"),
        {"data.jsonl": json.dumps({"id": "r1"}) + "\n"},
    )
    with pytest.raises(CompileError, match="bad prompt template") as info:
        run_task(task, RunOptions(mock=mock_url))
    assert "graph_config.nodes.ask.prompt[1]" in str(info.value)
    assert f"{task}:" in str(info.value)
    assert not (tmp_path / "out" / "result.jsonl").exists()
