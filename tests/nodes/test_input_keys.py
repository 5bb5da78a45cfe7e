"""Node types with prompts or mapped inputs say which state keys they read (`input_keys`),
where they read them; subgraphs and the quality judge check their inner graph against what
it starts with."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from grasp_core import BuildEnv, CompileError, ConfigError, ModelCatalog, Task
from grasp_core.config.models_file import ModelSpec
from grasp_core.graph.compile import compile_graph
from grasp_core.graph.compiled import CompiledGraph
from grasp_core.models.backends import BackendPool
from grasp_core.observe.metrics import RunMetrics
from grasp_core.plugin import ReadsState
from grasp_core.runs import check_task
from tests.conftest import write_task

CATALOG = ModelCatalog(specs={name: ModelSpec(model=f"openai/{name}") for name in ("m", "n")})

TOOLS = """\
def ping(text: str) -> str:
    \"\"\"Echo the text.\"\"\"
    return text
"""

INNER = """\
nodes:
  answer:
    {node_type: llm, output_keys: answer, prompt: [user: "{question} ({level})"], model: {name: m}}
edges:
  - {from: START, to: answer}
  - {from: answer, to: END}
"""


@pytest.fixture(autouse=True)
def _restore_import_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", [*sys.path])


def compiled(folder: Path, nodes: str, files: dict[str, str] | None = None) -> CompiledGraph:
    """Compile a one-node graph (node ``n``, block ``nodes``) as `grasp validate` does."""
    text = f"graph_config:\n  nodes:\n    n: {nodes}\n  edges:\n"
    text += "    - {from: START, to: n}\n    - {from: n, to: END}\n"
    task = Task.load(write_task(folder, text, {"tools.py": TOOLS, **(files or {})}))
    env = BuildEnv(task.task_dir, CATALOG, BackendPool(CATALOG), RunMetrics(), task.data)
    return compile_graph(task.config.graph_config, env, document=task.document)


def reads(folder: Path, nodes: str, files: dict[str, str] | None = None) -> dict[str, Any]:
    node = compiled(folder, nodes, files).nodes["n"].node
    assert isinstance(node, ReadsState)
    return dict(node.input_keys())


def test_llm_reads_every_prompt_variable_at_its_message(tmp_path: Path) -> None:
    """Text and media parts count; `{a.b}` is kept whole; a key is named at its first use."""
    block = (
        "{node_type: llm, model: {name: m}, prompt: [system: 'Be {tone}.', "
        "user: [{type: text, text: '{q.text} {tone}'}, {type: image_url, image_url: '{img}'}]]}"
    )
    assert reads(tmp_path, block) == {
        "tone": ("prompt", 0),
        "q.text": ("prompt", 1),
        "img": ("prompt", 1),
    }


def test_multi_llm_reads_its_shared_prompt(tmp_path: Path) -> None:
    block = "{node_type: multi_llm, models: {a: {name: m}, b: {name: n}}, prompt: [user: '{x}']}"
    assert reads(tmp_path, block) == {"x": ("prompt", 0)}


def test_agent_reads_its_prompt_and_injected_messages(tmp_path: Path) -> None:
    block = (
        "{node_type: agent, model: {name: m}, tools: [tools.ping], prompt: [user: '{task}'], "
        "inject_system_messages: {1: 'Remember {rule}'}}"
    )
    assert reads(tmp_path, block) == {
        "task": ("prompt", 0),
        "rule": ("inject_system_messages", 1),
    }


def test_quality_reads_its_named_fields(tmp_path: Path) -> None:
    """`prompt_fields`/`response_fields` are read; the default message field (either of two)
    is not declared."""
    block = "{node_type: quality, prompt_fields: [q], response_fields: [r.text]}"
    assert reads(tmp_path, block) == {"q": ("prompt_fields", 0), "r.text": ("response_fields", 0)}
    assert reads(tmp_path / "default", "{node_type: quality}") == {}


def test_a_subgraph_reads_its_input_map_or_what_its_inner_graph_needs(tmp_path: Path) -> None:
    """With `input_map`: the outer keys it names; without: the inner graph's free keys."""
    mapped = "{node_type: subgraph, graph: inner.yaml, input_map: {question: prompt, level: grade}}"
    files = {"inner.yaml": INNER}
    assert reads(tmp_path, mapped, files) == {
        "prompt": ("input_map", "question"),
        "grade": ("input_map", "level"),
    }
    whole = "{node_type: subgraph, graph: inner.yaml}"
    assert reads(tmp_path / "whole", whole, files) == {
        "question": ("graph",),
        "level": ("graph",),
    }


def test_an_inner_read_the_input_map_lacks_fails_at_the_inner_line(tmp_path: Path) -> None:
    """The inner graph starts with the input map's keys only: `{level}` is not among them."""
    block = "{node_type: subgraph, graph: inner.yaml, input_map: {question: prompt}}"
    with pytest.raises(CompileError) as raised:
        compiled(tmp_path, block, {"inner.yaml": INNER})
    message = str(raised.value)
    inner = tmp_path / "inner.yaml"
    assert f"{inner}:3: nodes.answer.prompt[0]: {{level}} is not in the record's state" in message
    assert (
        "it is neither among the input_map keys of subgraph 'n' nor in the output_keys" in message
    )


def test_an_output_map_of_a_key_the_inner_graph_never_holds_is_refused(tmp_path: Path) -> None:
    block = (
        "{node_type: subgraph, graph: inner.yaml, "
        "input_map: {question: q, level: l}, output_map: {out: answr}}"
    )
    with pytest.raises(ConfigError, match=r"output_map.out: the inner graph never holds 'answr'"):
        compiled(tmp_path, block, {"inner.yaml": INNER})


@pytest.mark.anyio
async def test_the_outer_state_must_hold_a_whole_state_subgraphs_keys(tmp_path: Path) -> None:
    """Without an input map, the keys the inner graph needs are checked in the outer graph."""
    text = (
        "data_config: {num_records: 1}\ngraph_config:\n  nodes:\n"
        "    sub: {node_type: subgraph, graph: inner.yaml}\n  edges:\n"
        "    - {from: START, to: sub}\n    - {from: sub, to: END}\n"
    )
    task = write_task(tmp_path, text, {"inner.yaml": INNER})
    with pytest.raises(CompileError) as raised:
        await check_task(Task.load(task), CATALOG)
    assert "graph_config.nodes.sub.graph: {question} is not in the record's state" in str(
        raised.value
    )


JUDGE = """\
nodes:
  rate: {node_type: llm, output_keys: judge, prompt: [user: "{answer}"], model: {name: m}}
edges:
  - {from: START, to: rate}
  - {from: rate, to: END}
"""


def test_a_custom_judge_graph_reading_another_key_is_refused(tmp_path: Path) -> None:
    """A judge graph starts with question, response and conversation only."""
    block = "{node_type: quality, tasks: [judge], judge_model: m, judge_graph: judge.yaml}"
    with pytest.raises(CompileError) as raised:
        compiled(tmp_path, block, {"judge.yaml": JUDGE})
    message = str(raised.value)
    assert "{answer} is not in the record's state when node 'rate' runs" in message
    assert "keys there: conversation, question, response" in message
