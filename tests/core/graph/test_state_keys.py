"""The keys a node reads are checked before the first call against what can be in the state
when it runs: the data's columns and the output_keys of the nodes that can run before it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from grasp_core import BuildEnv, CompileError, ModelCatalog, Task
from grasp_core.config.models_file import ModelSpec
from grasp_core.graph.compile import compile_graph
from grasp_core.graph.state_keys import StateKeys, free_reads
from grasp_core.models.backends import BackendPool
from grasp_core.observe.metrics import RunMetrics
from grasp_core.runs import check_task
from tests.conftest import write_task

pytestmark = pytest.mark.anyio

CATALOG = ModelCatalog(specs={"m": ModelSpec(model="openai/m")})

STEPS = """\
def one(state):
    return 1


def route(state):
    return "left"


def prepare(state):
    return {"prepared": "ready"}
"""


@pytest.fixture(autouse=True)
def _restore_import_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dotted paths put task folders on sys.path; undo that after each test."""
    monkeypatch.setattr(sys, "path", [*sys.path])


def llm(key: str, text: str, extra: str = "") -> str:
    """A one-line llm node block writing ``key`` with the user prompt ``text``."""
    return (
        f"{{node_type: llm, output_keys: {key}, prompt: [user: '{text}'], "
        f"model: {{name: m}}{extra}}}"
    )


def lam(key: str, extra: str = "") -> str:
    return f"{{node_type: lambda, lambda: steps.one, output_keys: {key}{extra}}}"


def task_yaml(nodes: dict[str, str], edges: list[str], data: str = "num_records: 2") -> str:
    lines = ["data_config:", f"  {data}", "graph_config:", "  nodes:"]
    lines += [f"    {name}: {block}" for name, block in nodes.items()]
    lines += ["  edges:"] + [f"    - {edge}" for edge in edges]
    return "\n".join(lines) + "\n"


async def check(folder: Path, text: str, files: dict[str, str] | None = None) -> list[str]:
    """Run ``check_task`` on the task; return the warnings it logged."""
    task = write_task(folder, text, {"steps.py": STEPS, **(files or {})})
    with capture_logs() as logs:
        await check_task(Task.load(task), CATALOG)
    return [str(entry["event"]) for entry in logs if entry["log_level"] == "warning"]


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


CHAIN = ["{from: START, to: ask}", "{from: ask, to: answer}", "{from: answer, to: END}"]


async def test_a_misspelt_variable_is_one_error_at_its_prompt_line(tmp_path: Path) -> None:
    """`{questoin}` after a node writing `question` names file, line, path, did-you-mean."""
    nodes = {"ask": llm("question", "Ask about {topic}"), "answer": llm("answer", "{questoin}")}
    text = task_yaml(nodes, CHAIN, data="source: {type: disk, file_path: data.jsonl}")
    with pytest.raises(CompileError) as raised:
        await check(tmp_path, text, {"data.jsonl": '{"topic": "tides"}\n'})
    (message,) = str(raised.value).splitlines()
    line = line_of(tmp_path / "task.yaml", "    answer:")
    assert message.startswith(
        f"{tmp_path / 'task.yaml'}:{line}: graph_config.nodes.answer.prompt[0]: "
    )
    assert "{questoin} is not in the record's state when node 'answer' runs" in message
    assert "(did you mean {question}?)" in message
    assert "keys there: messages, question, topic" in message


async def test_every_unprovided_key_is_listed_once(tmp_path: Path) -> None:
    """Two nodes with misses give one error with a line each; a key read twice by one node
    is named once."""
    nodes = {"ask": llm("question", "{nope} and {nope}"), "answer": llm("answer", "{missing}")}
    with pytest.raises(CompileError) as raised:
        await check(tmp_path, task_yaml(nodes, CHAIN))
    lines = str(raised.value).splitlines()
    assert lines[0] == "the graph reads state keys that nothing provides:"
    assert len(lines) == 3
    assert "{nope}" in lines[1]
    assert "{missing}" in lines[2]
    assert "neither among a data-less record's keys (it starts empty)" in lines[1]


async def test_keys_of_every_earlier_node_and_of_the_data_pass(tmp_path: Path) -> None:
    """A chain reading the data's columns, an earlier node's key and a nested `{a.b}` path
    validates without a warning."""
    nodes = {
        "ask": llm("question", "About {topic} at {meta.level}"),
        "answer": llm("answer", "{question} ({topic})"),
    }
    text = task_yaml(nodes, CHAIN, data="source: {type: disk, file_path: data.jsonl}")
    data = '{"topic": "tides", "meta": {"level": 1}}\n'
    assert await check(tmp_path, text, {"data.jsonl": data}) == []


async def test_a_join_after_parallel_branches_sees_both(tmp_path: Path) -> None:
    """Branches started by simple edges both run before their join: no warning."""
    nodes = {
        "left": lam("l"),
        "right": lam("r"),
        "join": llm("out", "{l} {r}"),
    }
    edges = [
        "{from: START, to: left}",
        "{from: START, to: right}",
        "{from: left, to: join}",
        "{from: right, to: join}",
        "{from: join, to: END}",
    ]
    assert await check(tmp_path, task_yaml(nodes, edges)) == []


async def test_a_key_from_one_conditional_branch_may_be_missing(tmp_path: Path) -> None:
    """Only the `left` branch writes `l`: a warning names it; the task still validates."""
    nodes = {"left": lam("l"), "right": lam("r"), "join": llm("out", "{l}")}
    edges = [
        "{from: START, condition: steps.route, path_map: {left: left, right: right}}",
        "{from: left, to: join}",
        "{from: right, to: join}",
        "{from: join, to: END}",
    ]
    (warning,) = await check(tmp_path, task_yaml(nodes, edges))
    assert "graph_config.nodes.join.prompt[0]: {l} may be missing when node 'join' runs" in warning
    assert "only 'left' write it" in warning


async def test_a_key_written_later_in_a_loop_is_a_warning(tmp_path: Path) -> None:
    """`feedback` comes from the node after `draft` in their loop: the first pass lacks it."""
    nodes = {
        "draft": llm("text", "Improve with {feedback}"),
        "review": lam("feedback"),
    }
    edges = [
        "{from: START, to: draft}",
        "{from: draft, to: review}",
        "{from: review, condition: steps.route, path_map: {left: draft, right: END}}",
    ]
    (warning,) = await check(tmp_path, task_yaml(nodes, edges))
    assert "{feedback} may be missing when node 'draft' runs: only 'review' write it" in warning


async def test_a_key_only_a_hook_can_bring_is_allowed_and_said(tmp_path: Path) -> None:
    """Another node's post_process may return any key: a warning says where it must come
    from. The reading node's own pre_process (the usual idiom) passes silently."""
    nodes = {
        "prep": lam("x", ", post_process: steps.prepare"),
        "use": llm("out", "{prepared}"),
    }
    edges = ["{from: START, to: prep}", "{from: prep, to: use}", "{from: use, to: END}"]
    (warning,) = await check(tmp_path, task_yaml(nodes, edges))
    assert "{prepared} is in no data column and no node's output_keys" in warning
    assert "hook of 'prep'" in warning
    own = {"use": llm("out", "{prepared}", ", pre_process: steps.prepare")}
    edges = ["{from: START, to: use}", "{from: use, to: END}"]
    assert await check(tmp_path / "own", task_yaml(own, edges)) == []


async def test_an_idle_node_provides_nothing(tmp_path: Path) -> None:
    """An idle node's edges pass through, but it writes no key."""
    nodes = {"ask": lam("question", ", node_state: idle"), "answer": llm("answer", "{question}")}
    with pytest.raises(CompileError, match=r"\{question\} is not in the record's state"):
        await check(tmp_path, task_yaml(nodes, CHAIN))


async def test_unreadable_data_leaves_its_keys_unchecked(tmp_path: Path) -> None:
    """When the first records cannot be read, any key may come from them: no error."""
    nodes = {"ask": llm("question", "{anything}"), "answer": llm("answer", "{question}")}
    text = task_yaml(nodes, CHAIN, data="source: {type: disk, file_path: data.jsonl}")
    assert await check(tmp_path, text, {"data.jsonl": "{not json\n"}) == []


def test_state_keys_of_a_loop_and_its_free_reads(tmp_path: Path) -> None:
    """A node in a loop sees its loop-mates' keys; `free_reads` lists what nothing inside
    the graph writes, at its first read."""
    nodes = {"draft": llm("text", "{topic} {feedback}"), "review": lam("feedback")}
    edges = [
        "{from: START, to: draft}",
        "{from: draft, to: review}",
        "{from: review, condition: steps.route, path_map: {left: draft, right: END}}",
    ]
    task = Task.load(write_task(tmp_path, task_yaml(nodes, edges), {"steps.py": STEPS}))
    env = BuildEnv(task.task_dir, CATALOG, BackendPool(CATALOG), RunMetrics(), task.data)
    compiled = compile_graph(task.config.graph_config, env, document=task.document)
    keys = StateKeys(compiled, {"topic"})
    assert keys.available("draft") == {"topic", "text", "feedback", "messages"}
    assert keys.at_end() == {"topic", "text", "feedback", "messages"}
    assert free_reads(compiled) == {"topic": ("nodes", "draft", "prompt", 0)}


async def test_a_sparse_column_read_behind_a_condition_is_a_warning(tmp_path: Path) -> None:
    """A column the first records lack, read only by a node behind a conditional edge, may
    be in the records routed there: a warning, not an error. A near name there is still a
    typo (an error), and the same read in a node every record runs is an error."""
    rows = "".join(f'{{"q": "{n}"}}\n' for n in range(12)) + '{"q": "x", "context": "c"}\n'
    nodes = {"rag": llm("answer", "{context}: {q}"), "plain": llm("answer", "{q}")}
    edges = [
        "{from: START, condition: steps.route, path_map: {left: rag, right: plain}}",
        "{from: rag, to: END}",
        "{from: plain, to: END}",
    ]
    data = "source: {type: disk, file_path: data.jsonl}"
    (warning,) = await check(tmp_path, task_yaml(nodes, edges, data), {"data.jsonl": rows})
    assert "{context} is in no column of the data's first records" in warning
    assert "node 'rag' runs only for some records" in warning

    nodes["rag"] = llm("answer", "{qq}")
    with pytest.raises(CompileError, match=r"\{qq\} is not in .* \(did you mean \{q\}\?\)"):
        await check(tmp_path, task_yaml(nodes, edges, data), {"data.jsonl": rows})

    always = {"rag": llm("answer", "{context}: {q}")}
    chain = ["{from: START, to: rag}", "{from: rag, to: END}"]
    with pytest.raises(CompileError, match=r"\{context\} is not in the record's state"):
        await check(tmp_path, task_yaml(always, chain, data), {"data.jsonl": rows})
