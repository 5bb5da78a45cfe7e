"""Graph compilation: structural errors name the nodes involved, at their file:line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from grasp_core import BuildEnv, CompileError, ConfigError, ModelCatalog, Task
from grasp_core.graph.compile import compile_graph
from grasp_core.graph.compiled import CompiledGraph
from grasp_core.models.backends import BackendPool
from grasp_core.observe.metrics import RunMetrics
from tests.conftest import write_task

pytestmark = pytest.mark.anyio

STEPS = """\
def one(state):
    return 1


def left(state):
    return "left"
"""


@pytest.fixture(autouse=True)
def _restore_import_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dotted paths put task folders on sys.path; undo that after each test."""
    monkeypatch.setattr(sys, "path", [*sys.path])


def lam(key: str) -> str:
    """A one-line lambda node block writing ``key``."""
    return f"{{node_type: lambda, lambda: steps.one, output_keys: {key}}}"


def llm(key: str) -> str:
    """A one-line llm node block writing ``key``."""
    return f"{{node_type: llm, output_keys: {key}, prompt: [user: hi], model: {{name: m}}}}"


def line_of(path: Path, needle: str) -> int:
    """1-based number of the first line of ``path`` that contains ``needle``."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def task_file(folder: Path, nodes: dict[str, str], edges: list[str]) -> Path:
    """Write a task whose graph has ``nodes`` (name → flow block) and ``edges`` (flow maps)."""
    lines = ["graph_config:", "  nodes:"]
    lines += [f"    {name}: {block}" for name, block in nodes.items()]
    lines += ["  edges:"] + [f"    - {edge}" for edge in edges]
    return write_task(folder, "\n".join(lines) + "\n", {"steps.py": STEPS})


async def compile_file(path: Path) -> CompiledGraph:
    """Compile a task file the way `grasp validate` does (every model name is accepted)."""
    task = Task.load(path)
    catalog = ModelCatalog(mock_url="-")
    env = BuildEnv(task.task_dir, catalog, BackendPool(catalog), RunMetrics(), task.data)
    return compile_graph(task.config.graph_config, env, document=task.document)


async def test_unknown_node_in_an_edge_suggests_the_nearest_name(tmp_path: Path) -> None:
    """An edge to a misspelt node names it, suggests the real one and lists all nodes."""
    task = task_file(
        tmp_path,
        {"generate": lam("x"), "judge": lam("y")},
        ["{from: START, to: generate}", "{from: generate, to: jduge}", "{from: judge, to: END}"],
    )
    with pytest.raises(CompileError, match="unknown node 'jduge'") as info:
        await compile_file(task)
    message = str(info.value)
    assert f"{task}:{line_of(task, 'to: jduge')}: graph_config.edges[1].to" in message
    assert "did you mean 'judge'?" in message
    assert "nodes are: generate, judge, START, END" in message


async def test_node_unreachable_from_start_is_named(tmp_path: Path) -> None:
    """A node no edge path from START reaches is an error at that node's line."""
    task = task_file(
        tmp_path,
        {"a": lam("x"), "orphan": lam("y")},
        ["{from: START, to: a}", "{from: a, to: END}", "{from: orphan, to: END}"],
    )
    with pytest.raises(CompileError, match="node 'orphan' is unreachable from START") as info:
        await compile_file(task)
    assert f"{task}:{line_of(task, 'orphan:')}: graph_config.nodes.orphan" in str(info.value)


async def test_node_that_cannot_reach_end_is_named(tmp_path: Path) -> None:
    """A node with no path onward to END is an error at that node's line."""
    task = task_file(
        tmp_path,
        {"a": lam("x"), "dead_end": lam("y")},
        ["{from: START, to: a}", "{from: a, to: END}", "{from: a, to: dead_end}"],
    )
    with pytest.raises(CompileError, match="node 'dead_end' cannot reach END") as info:
        await compile_file(task)
    assert f"{task}:{line_of(task, 'dead_end:')}: graph_config.nodes.dead_end" in str(info.value)


async def test_path_map_target_must_be_a_node(tmp_path: Path) -> None:
    """A path_map label leading to a node that does not exist is an error."""
    task = task_file(
        tmp_path,
        {"a": lam("x")},
        [
            "{from: START, to: a}",
            "{from: a, condition: steps.left, path_map: {left: END, right: retry}}",
        ],
    )
    with pytest.raises(CompileError, match="unknown node 'retry'") as info:
        await compile_file(task)
    assert f"{task}:{line_of(task, 'path_map')}: graph_config.edges[1].path_map" in str(info.value)


async def test_unknown_node_type_lists_known_types(tmp_path: Path) -> None:
    """An unknown `node_type` suggests the nearest one and lists every registered type."""
    task = task_file(
        tmp_path,
        {"a": "{node_type: lamda, lambda: steps.one, output_keys: x}"},
        ["{from: START, to: a}", "{from: a, to: END}"],
    )
    with pytest.raises(CompileError, match="unknown node type 'lamda'") as info:
        await compile_file(task)
    message = str(info.value)
    assert f"{task}:{line_of(task, 'lamda')}: graph_config.nodes.a.node_type" in message
    assert "did you mean 'lambda'?" in message
    assert "known: " in message
    assert "lambda, llm" in message


async def test_parallel_branches_writing_the_same_key_is_an_error(tmp_path: Path) -> None:
    """Two nodes that may run at once for a record cannot both write one state key."""
    task = task_file(
        tmp_path,
        {"a": lam("[score, a_only]"), "b": lam("[score, b_only]"), "join": lam("total")},
        [
            "{from: START, to: a}",
            "{from: START, to: b}",
            "{from: a, to: join}",
            "{from: b, to: join}",
            "{from: join, to: END}",
        ],
    )
    with pytest.raises(
        CompileError, match="nodes 'a' and 'b' run in parallel and both write 'score'"
    ) as info:
        await compile_file(task)
    assert "a_only" not in str(info.value)
    assert f"{task}:{line_of(task, 'b:')}: graph_config.nodes.b" in str(info.value)


async def test_targets_of_one_conditional_edge_may_write_the_same_key(tmp_path: Path) -> None:
    """Only one target of a conditional edge runs, so its targets may share output keys."""
    task = task_file(
        tmp_path,
        {"left": lam("answer"), "right": lam("answer")},
        [
            "{from: START, condition: steps.left, path_map: {left: left, right: right}}",
            "{from: left, to: END}",
            "{from: right, to: END}",
        ],
    )
    graph = await compile_file(task)
    assert set(graph.nodes) == {"left", "right"}


async def test_nodes_in_sequence_may_write_the_same_key(tmp_path: Path) -> None:
    """A node may overwrite a key an earlier node on the same path wrote."""
    task = task_file(
        tmp_path,
        {"draft": lam("text"), "polish": lam("text")},
        ["{from: START, to: draft}", "{from: draft, to: polish}", "{from: polish, to: END}"],
    )
    graph = await compile_file(task)
    assert set(graph.nodes) == {"draft", "polish"}


async def test_parallel_llm_nodes_may_both_write_messages(tmp_path: Path) -> None:
    """`messages` is appended to, so parallel llm nodes may both write it."""
    task = task_file(
        tmp_path,
        {"ask": llm("question"), "tell": llm("story")},
        [
            "{from: START, to: ask}",
            "{from: START, to: tell}",
            "{from: ask, to: END}",
            "{from: tell, to: END}",
        ],
    )
    graph = await compile_file(task)
    assert "messages" in graph.nodes["ask"].node.output_keys
    assert "messages" in graph.nodes["tell"].node.output_keys


async def test_parallel_llm_nodes_still_clash_on_their_own_key(tmp_path: Path) -> None:
    """The `messages` exemption does not cover the llm node's own output key."""
    task = task_file(
        tmp_path,
        {"ask": llm("reply"), "tell": llm("reply")},
        [
            "{from: START, to: ask}",
            "{from: START, to: tell}",
            "{from: ask, to: END}",
            "{from: tell, to: END}",
        ],
    )
    with pytest.raises(CompileError, match="both write 'reply';") as info:
        await compile_file(task)
    assert "'messages'" not in str(info.value)


async def test_structural_problems_are_reported_together(tmp_path: Path) -> None:
    """Every unreachable and dead-end node appears in one error, each at its own line."""
    task = task_file(
        tmp_path,
        {"a": lam("x"), "lost1": lam("y"), "lost2": lam("z"), "stuck": lam("w")},
        [
            "{from: START, to: a}",
            "{from: a, to: END}",
            "{from: a, to: stuck}",
            "{from: lost1, to: lost2}",
            "{from: lost2, to: END}",
        ],
    )
    with pytest.raises(CompileError, match="the graph does not compile") as info:
        await compile_file(task)
    lines = str(info.value).splitlines()[1:]
    assert lines == [
        f"  {task}:{line_of(task, 'lost1:')}: graph_config.nodes.lost1: node 'lost1' is "
        "unreachable from START; add an edge to it",
        f"  {task}:{line_of(task, 'lost2:')}: graph_config.nodes.lost2: node 'lost2' is "
        "unreachable from START; add an edge to it",
        f"  {task}:{line_of(task, 'stuck:')}: graph_config.nodes.stuck: node 'stuck' cannot "
        "reach END; add an edge from it",
    ]


async def test_edge_problems_are_reported_together(tmp_path: Path) -> None:
    """Every edge naming an unknown node is listed in the one error."""
    task = task_file(
        tmp_path,
        {"a": lam("x")},
        ["{from: START, to: aa}", "{from: b, to: END}", "{from: a, to: START}"],
    )
    with pytest.raises(CompileError, match="the graph does not compile") as info:
        await compile_file(task)
    message = str(info.value)
    assert "graph_config.edges[0].to: unknown node 'aa' (did you mean 'a'?)" in message
    assert "graph_config.edges[1].from: unknown node 'b'" in message
    assert "graph_config.edges[2]: an edge cannot lead to START" in message


async def test_bad_node_blocks_are_reported_together(tmp_path: Path) -> None:
    """Every node whose block is invalid is listed in one error."""
    task = task_file(
        tmp_path,
        {
            "a": "{node_type: lamda, lambda: steps.one, output_keys: x}",
            "b": "{node_type: lambda, lambda: steps.one}",
        },
        ["{from: START, to: a}", "{from: a, to: b}", "{from: b, to: END}"],
    )
    with pytest.raises(ConfigError) as info:
        await compile_file(task)
    message = str(info.value)
    assert "unknown node type 'lamda'" in message
    assert "lambda node 'b' needs output_keys" in message


async def test_bad_hook_path_names_file_line_and_node(tmp_path: Path) -> None:
    """A pre_process hook that cannot be found is reported at its node's file:line."""
    task = task_file(
        tmp_path,
        {"a": "{node_type: lambda, lambda: steps.one, output_keys: x, pre_process: steps.nope}"},
        ["{from: START, to: a}", "{from: a, to: END}"],
    )
    with pytest.raises(ConfigError, match="'steps' has no attribute 'nope'") as info:
        await compile_file(task)
    assert f"{task}:{line_of(task, 'pre_process')}: graph_config.nodes.a" in str(info.value)


async def test_bad_condition_path_names_file_line_and_edge(tmp_path: Path) -> None:
    """An edge condition that cannot be found is reported at the edge's file:line."""
    task = task_file(
        tmp_path,
        {"a": lam("x")},
        ["{from: START, to: a}", "{from: a, condition: steps.nope, path_map: {x: END}}"],
    )
    with pytest.raises(CompileError, match="'steps' has no attribute 'nope'") as info:
        await compile_file(task)
    message = str(info.value)
    assert f"{task}:{line_of(task, 'steps.nope')}: graph_config.edges[1].condition" in message


async def test_loop_closed_by_a_simple_edge_is_an_error(tmp_path: Path) -> None:
    """An unconditional edge back to an earlier node loops forever, so it does not compile."""
    task = task_file(
        tmp_path,
        {"a": lam("x"), "b": lam("y")},
        ["{from: START, to: a}", "{from: a, to: b}", "{from: b, to: a}", "{from: b, to: END}"],
    )
    with pytest.raises(CompileError, match="form a loop with no conditional edge"):
        await compile_file(task)


async def test_loop_back_to_an_earlier_node_compiles(tmp_path: Path) -> None:
    """A conditional edge back to an earlier node forms a loop, not a parallel branch."""
    task = task_file(
        tmp_path,
        {"gen": lam("code"), "check": lam("ok")},
        [
            "{from: START, to: gen}",
            "{from: gen, to: check}",
            "{from: check, condition: steps.left, path_map: {left: END, right: gen}}",
        ],
    )
    graph = await compile_file(task)
    assert graph.back_edges == frozenset({(2, "gen")})
