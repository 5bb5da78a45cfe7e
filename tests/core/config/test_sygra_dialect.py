"""SyGra's spellings of task-level keys and its hook conventions: accepted with SyGra's
meaning, or refused with GraSP's equivalent named."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import anyio
import pytest

from grasp_core import RunOptions, run_task
from grasp_core.config import OutputConfig
from grasp_core.config.callables import load_callable
from grasp_core.config.graph import GraphConfig
from grasp_core.config.task_file import Task, folder_task_file
from grasp_core.engine.row_formats import select_format
from grasp_core.errors import ConfigError, NodeError
from grasp_core.graph.hook_styles import (
    VIEW_ONLY,
    NodeResult,
    post_process_hook,
    pre_process_hook,
)
from tests.conftest import write_task


def _run(coro: Any) -> Any:
    return anyio.run(lambda: coro)


class SelfLess:
    def apply(state):  # type: ignore[no-untyped-def]  # noqa: N805 - SyGra's style
        return "yes" if state["x"] else "no"  # type: ignore[index]


class Static:
    @staticmethod
    def apply(state: dict[str, Any]) -> str:
        return f"static {state['x']}"


class WithSelf:
    def __init__(self) -> None:
        self.prefix = "self"

    def apply(self, state: dict[str, Any]) -> str:
        return f"{self.prefix} {state['x']}"


def test_a_class_whose_apply_has_no_self_is_called_on_the_class() -> None:
    """`apply(state)` without `self` (SyGra's conditions) and static methods are called on
    the class; an `apply(self, state)` still gets an instance."""
    assert _run(load_callable(SelfLess, None, what="condition")({"x": 1})) == "yes"
    assert _run(load_callable(Static, None, what="condition")({"x": 2})) == "static 2"
    assert _run(load_callable(WithSelf, None, what="condition")({"x": 3})) == "self 3"


def test_a_hook_returning_the_whole_state_stores_only_what_it_changed() -> None:
    """A pre_process that mutates and returns its state gives the changed keys; new
    messages are appended, never repeated."""

    def mutate(state: dict[str, Any]) -> dict[str, Any]:
        state["n"] += 1
        state["messages"].append({"role": "user", "content": "more"})
        return state

    state: dict[str, Any] = {
        "n": 1,
        "keep": "same",
        "messages": [{"role": "user", "content": "hi"}],
    }
    hook = pre_process_hook(load_callable(mutate, None, what="hook", inline=True), "node")
    update = _run(hook(state))
    assert update == {"n": 2, "messages": [{"role": "user", "content": "more"}]}
    assert state["n"] == 1
    assert len(state["messages"]) == 1


def test_earlier_messages_a_pre_processor_rewrites_are_only_seen_by_its_node() -> None:
    """Messages are append-only: a SyGra pre-processor relabelling them changes what its node
    sees (VIEW_ONLY), as in SyGra; a post-processor doing so is told about history_role_map."""

    def flip(state: dict[str, Any]) -> dict[str, Any]:
        state["messages"] = [{"role": "assistant", "content": "hi"}]
        return state

    hook = pre_process_hook(load_callable(flip, None, what="hook", inline=True), "ask")
    update = _run(hook({"messages": [{"role": "user", "content": "hi"}]}))
    assert update == {VIEW_ONLY: {"messages": [{"role": "assistant", "content": "hi"}]}}

    def flip_after(result: Any, state: dict[str, Any]) -> dict[str, Any]:
        return flip(state)

    after = post_process_hook(load_callable(flip_after, None, what="hook", inline=True), "ask")
    with pytest.raises(NodeError, match="history_role_map"):
        _run(after({"reply": "x"}, {"messages": [{"role": "user", "content": "hi"}]}))


def test_a_post_processor_reads_the_reply_as_a_message_object() -> None:
    """One-argument post-processors get the response (`.message.content`, `.tool_calls`);
    two-argument ones get the result dict, which answers `.message` too."""
    result = {"reply": "hello", "messages": [{"role": "assistant", "content": "hello"}]}

    def alone(response: Any) -> dict[str, Any]:
        return {"upper": response.message.content.upper(), "type": response.message.type}

    def with_state(response: Any, state: dict[str, Any]) -> dict[str, Any]:
        return {"both": f"{response['reply']}/{response.message.content}/{state['x']}"}

    hook = post_process_hook(load_callable(alone, None, what="hook", inline=True), "n")
    assert _run(hook(result, {"x": 1})) == {"upper": "HELLO", "type": "ai"}
    hook = post_process_hook(load_callable(with_state, None, what="hook", inline=True), "n")
    assert _run(hook(result, {"x": 1})) == {"both": "hello/hello/1"}
    assert NodeResult({"reply": "only"}).message.content == "only"


def test_retry_chat_injection_is_accepted_and_noted(caplog: pytest.LogCaptureFixture) -> None:
    """SyGra's graph property for its own hooks is accepted, left out, and noted."""
    caplog.set_level(logging.INFO)
    config = GraphConfig.model_validate(
        {
            "graph_properties": {"retry_chat_injection": {"required": "yes"}},
            "nodes": {"a": {"node_type": "lambda"}},
            "edges": [{"from": "START", "to": "END"}],
        }
    )
    assert config.properties().chat_conversation == "singleturn"


def test_intermediate_writing_is_accepted_when_the_mapper_is_optional() -> None:
    """`intermediate_writing: yes` with `required: no` writes the records; `--oasst` on such
    a task is refused (it would write only the rows); with `required: yes` it is refused."""
    lazy = OutputConfig.model_validate(
        {"oasst_mapper": {"required": "no", "type": "sft", "intermediate_writing": "yes"}}
    )
    assert select_format(lazy) is None
    with pytest.raises(ConfigError, match="run once without --oasst"):
        select_format(lazy, oasst=True)
    with pytest.raises(ValueError, match="required: yes is not supported"):
        OutputConfig.model_validate({"oasst_mapper": {"intermediate_writing": "yes"}})


def test_a_subgraph_folder_is_found_from_the_task_folder_or_above(tmp_path: Path) -> None:
    """A folder path, or a dotted path as SyGra writes it from its repository's root, names
    the folder's task file, looked up from the task folder and each folder above."""
    inner = tmp_path / "tasks" / "recipes" / "answer"
    inner.mkdir(parents=True)
    (inner / "graph_config.yaml").write_text("graph_config: {nodes: {}, edges: []}\n")
    task_dir = tmp_path / "tasks" / "mine"
    task_dir.mkdir()
    found = inner / "graph_config.yaml"
    assert folder_task_file("tasks.recipes.answer", task_dir) == found
    assert folder_task_file("../recipes/answer", task_dir) == task_dir / "../recipes/answer" / (
        "graph_config.yaml"
    )
    assert folder_task_file("tasks.nowhere", task_dir) is None


OUTPUT_TASK = """
data_config:
  source: {{type: disk, file_path: data.jsonl}}
  sink: {{type: jsonl, file_path: out.jsonl}}
graph_config:
  nodes:
    copy: {{node_type: lambda, lambda: steps.copy, output_keys: copied}}
  edges:
    - {{from: START, to: copy}}
    - {{from: copy, to: END}}
output_config:
  output_map:
    id: {{from: id}}
    copied: {{from: copied}}
    maybe: {{from: maybe{required}}}
"""


def _output_run(folder: Path, name: str, required: str) -> Any:
    task = OUTPUT_TASK.format(required=required)
    files = {
        "steps.py": "def copy(state):\n    return state['text']\n",
        "data.jsonl": '{"text": "a"}\n{"text": "b", "maybe": 1}\n',
    }
    if name == "task.yaml":
        write_task(folder, task, files)
    else:
        write_task(folder, "", {**files, name: task})
        (folder / "task.yaml").unlink()
    return run_task(folder / name, RunOptions())


def _rows(folder: Path) -> list[dict[str, Any]]:
    lines = (folder / "out.jsonl").read_text().splitlines()
    return sorted((json.loads(line) for line in lines), key=lambda r: r["copied"])


def test_a_record_without_an_id_maps_its_record_id(tmp_path: Path) -> None:
    """`id: {from: id}` on records without an `id` writes the record's own id (the one the
    output has without an output_map); `required: false` writes null for an absent key."""
    result = _output_run(tmp_path, "task.yaml", ", required: false")
    assert result.failed == 0, result.failure_reasons
    rows = _rows(tmp_path)
    assert [row["maybe"] for row in rows] == [None, 1]
    assert all(isinstance(row["id"], str) and row["id"] for row in rows)
    assert rows[0]["id"] != rows[1]["id"]


def test_a_missing_key_fails_the_record_unless_the_file_is_sygras(tmp_path: Path) -> None:
    """In GraSP's task file an absent `from` key fails its record; in SyGra's
    (`graph_config.yaml`) it writes null, as SyGra does, unless `required: true`."""
    strict = _output_run(tmp_path / "grasp", "task.yaml", "")
    assert strict.failed == 1
    sygra = _output_run(tmp_path / "sygra", "graph_config.yaml", "")
    assert sygra.failed == 0
    assert [row["maybe"] for row in _rows(tmp_path / "sygra")] == [None, 1]
    forced = _output_run(tmp_path / "forced", "graph_config.yaml", ", required: true")
    assert forced.failed == 1
    assert Task.load(tmp_path / "sygra").config.output_config is not None


RESUMABLE_TASK = """
data_config:
  resumable: true
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out.jsonl}
graph_config:
  nodes:
    ask: {node_type: llm, prompt: [{user: "{q}"}], model: {name: m}}
  edges: [{from: START, to: ask}, {from: ask, to: END}]
"""


def test_resumable_in_sygras_file_is_read_and_resume_works(tmp_path: Path, mock_url: str) -> None:
    """`data_config.resumable` in SyGra's own file (read directly, not converted) loads and
    the run resumes from its journal; in GraSP's file it is an unknown key, one line."""
    files = {"data.jsonl": '{"id": "a", "q": "one"}\n{"id": "b", "q": "two"}\n'}
    write_task(tmp_path / "sygra", "", {"graph_config.yaml": RESUMABLE_TASK, **files})
    (tmp_path / "sygra" / "task.yaml").unlink()
    first = run_task(tmp_path / "sygra", RunOptions(mock=mock_url))
    assert (first.done, first.failed) == (2, 0)
    again = run_task(tmp_path / "sygra", RunOptions(mock=mock_url, resume=True))
    assert (again.done, again.previously_done) == (0, 2)
    assert len((tmp_path / "sygra" / "out.jsonl").read_text().splitlines()) == 2
    grasp = write_task(tmp_path / "grasp", RESUMABLE_TASK, files)
    with pytest.raises(ConfigError, match=r"task\.yaml:3: data_config\.resumable: unknown key"):
        Task.load(grasp)
