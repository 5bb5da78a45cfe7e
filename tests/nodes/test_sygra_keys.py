"""SyGra's node keys: read with SyGra's meaning, or refused naming GraSP's equivalent.
Keys that would hide typos (loose model parameters, extra lambda keys) are read only in
SyGra's task file, `graph_config.yaml`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from grasp_core import RunOptions, run_task
from grasp_core.mock_server import MockServer
from grasp_nodes.agent.node import AgentNodeConfig
from grasp_nodes.lambda_node import LambdaNodeConfig
from grasp_nodes.llm import LLMNodeConfig
from grasp_nodes.multi_llm import MultiLLMNodeConfig
from tests.conftest import write_task

SYGRA = {"dialect": "sygra"}
PROMPT = [{"user": "hi"}]


def llm(context: dict[str, str] | None = None, **keys: Any) -> LLMNodeConfig:
    return LLMNodeConfig.model_validate({"prompt": PROMPT, **keys}, context=context)


def test_model_parameters_under_model_move_into_parameters_in_sygras_file() -> None:
    """`model: {temperature, max_tokens}` means `model.parameters` in SyGra's file; in
    GraSP's file such a key stays an unknown key (a typo is never sent as a parameter)."""
    config = llm(SYGRA, model={"name": "m", "temperature": 0.2, "parameters": {"top_p": 1.0}})
    assert config.model.parameters == {"temperature": 0.2, "top_p": 1.0}
    with pytest.raises(ValidationError, match="temperature"):
        llm(None, model={"name": "m", "temperature": 0.2})
    with pytest.raises(ValidationError, match="keep one, under `parameters`"):
        llm(SYGRA, model={"name": "m", "temperature": 0.2, "parameters": {"temperature": 1.0}})


def test_structured_output_inside_the_model_block_is_the_nodes() -> None:
    """SyGra's `model.structured_output` is the node's `structured_output`, for llm and agent
    nodes; both at once are refused."""
    schema = {"schema": {"fields": {"answer": {"type": "str"}}}}
    config = llm(None, model={"name": "m", "structured_output": schema})
    assert config.structured_output is not None
    agent = AgentNodeConfig.model_validate(
        {"prompt": PROMPT, "model": {"name": "m", "structured_output": schema}}
    )
    assert agent.structured_output is not None
    with pytest.raises(ValidationError, match="keep the node's `structured_output`"):
        llm(None, model={"name": "m", "structured_output": schema}, structured_output=schema)


def test_structured_output_per_model_in_multi_llm() -> None:
    """Each `multi_llm` model's own `structured_output` applies to that model only."""
    schema = {"enabled": True, "schema": {"fields": {"message": {"type": "str"}}}}
    config = MultiLLMNodeConfig.model_validate(
        {
            "prompt": PROMPT,
            "models": {"a": {"name": "m", "structured_output": schema}, "b": {"name": "m"}},
        }
    )
    assert set(config.structured_outputs) == {"a"}
    with pytest.raises(ValidationError, match="not a label in `models`"):
        MultiLLMNodeConfig.model_validate(
            {"prompt": PROMPT, "models": {"a": {"name": "m"}}, "structured_outputs": {"z": schema}}
        )


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"model": {"name": "m", "provider": "openai"}}, "route of the models-file entry"),
        ({"input_key": "a", "append_messages": "b"}, "keep `append_messages`"),
        ({"chat_history": False}, "choose with graph_config.chat_conversation"),
        ({"output_key": "a", "output_keys": "b"}, "keep `output_keys`"),
    ],
)
def test_sygra_keys_without_a_grasp_meaning_name_the_equivalent(
    keys: dict[str, Any], message: str
) -> None:
    """`model.provider`, `input_key` beside another `append_messages`, `chat_history: false`
    and both output keys are refused with what to write instead."""
    with pytest.raises(ValidationError, match=message):
        llm(None, **{"model": {"name": "m"}, **keys})


def test_output_key_input_key_and_chat_history_are_read() -> None:
    """`output_key` is `output_keys`; `input_key: messages` and `chat_history: true` are what
    GraSP does already (history in multiturn graphs)."""
    config = llm(None, model={"name": "m"}, output_key="a", input_key="messages", chat_history=True)
    assert config.output_key_list() == ["a"]


def test_extra_lambda_keys_are_its_params_in_sygras_file_only() -> None:
    """In SyGra's file a lambda's extra keys reach the function; in GraSP's they are unknown
    keys (GraSP's spelling is `params`). `function_type` is dropped everywhere."""
    raw = {"lambda": "m.f", "output_keys": "x", "function_type": "sync", "suffix": "!"}
    assert LambdaNodeConfig.model_validate(raw, context=SYGRA).params == {"suffix": "!"}
    with pytest.raises(ValidationError, match="suffix"):
        LambdaNodeConfig.model_validate(raw)
    spelled = {"lambda": "m.f", "output_keys": "x", "params": {"suffix": "!"}}
    assert LambdaNodeConfig.model_validate(spelled).params == {"suffix": "!"}


MODELS = "m: {model: openai/m, api_base: 'http://127.0.0.1:1/v1'}\n"

AGENT_AND_SUBGRAPH = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out.jsonl}
graph_config:
  nodes:
    think:
      node_type: agent
      chat_history: true
      output_keys: thought
      prompt: [{user: "think about {q}"}]
      model: {name: m}
    inner:
      node_type: subgraph
      subgraph: tasks.recipes.echo
  edges:
    - {from: START, to: think}
    - {from: think, to: inner}
    - {from: inner, to: END}
"""

INNER = """
graph_config:
  nodes:
    echo:
      node_type: llm
      output_keys: echoed
      prompt: [{user: "again {thought}"}]
      model: {name: m}
  edges:
    - {from: START, to: echo}
    - {from: echo, to: END}
"""


def test_an_agent_without_tools_and_a_subgraph_folder_run(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """An agent with no tools answers in one call; `subgraph:` names a folder by SyGra's
    dotted path from its repository's root."""
    root = tmp_path / "repo"
    write_task(root / "tasks" / "recipes" / "echo", INNER)
    task = write_task(
        root / "tasks" / "mine",
        AGENT_AND_SUBGRAPH,
        {"data.jsonl": '{"id": "r1", "q": "tea"}\n', "models.yaml": MODELS},
    )
    result = run_task(task, RunOptions(mock=mock_server.url))
    assert result.failed == 0, result.failure_reasons
    (row,) = [json.loads(line) for line in (task.parent / "out.jsonl").read_text().splitlines()]
    assert row["thought"] == "think about tea"
    assert row["echoed"] == "again think about tea"
