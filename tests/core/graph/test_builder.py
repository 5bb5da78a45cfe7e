"""The Python builder says what YAML says: same graphs, same outputs, round trips."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grasp_core import END, START, ConfigError, Graph, RunOptions, Task, run_task
from grasp_core.mock_server import MockServer
from tests.conftest import REPO_ROOT

EXAMPLES = REPO_ROOT / "examples"


def lines(result_paths: list[Path]) -> list[str]:
    return sorted(result_paths[0].read_text().splitlines())


def test_builder_quickstart_matches_the_yaml_quickstart(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """examples/quickstart/build.py and task.yaml produce identical records."""
    folder = tmp_path / "quickstart"
    shutil.copytree(EXAMPLES / "quickstart", folder, ignore=shutil.ignore_patterns("output"))
    sys.path.insert(0, str(folder))
    try:
        import build  # type: ignore[import-not-found]

        built = build.build_task()
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("build", None)
    from_yaml = run_task(
        folder / "task.yaml", RunOptions(mock=mock_server.url, output_dir=tmp_path / "a")
    )
    from_code = run_task(built, RunOptions(mock=mock_server.url, output_dir=tmp_path / "b"))
    assert from_yaml.done == from_code.done == 12
    assert lines(from_yaml.output_paths) == lines(from_code.output_paths)


def test_yaml_round_trip_keeps_the_graph(tmp_path: Path, mock_server: MockServer) -> None:
    """from_yaml → to_yaml → from_yaml gives the same graph, and it runs the same."""
    source = EXAMPLES / "paper_code_validation"
    graph = Graph.from_yaml(source / "task.yaml")
    again = Graph.from_yaml(graph.to_yaml())
    assert again.to_graph_config() == graph.to_graph_config()
    folder = tmp_path / "code"
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns("output"))
    yaml_task = Task.load(folder / "task.yaml")
    built = again.to_task(
        data_config=dict(yaml_task.data["data_config"]),
        output_config=dict(yaml_task.data["output_config"]),
        schema_config=dict(yaml_task.data["schema_config"]),
        task_dir=folder,
    )
    a = run_task(yaml_task, RunOptions(mock=mock_server.url, output_dir=tmp_path / "a"))
    b = run_task(built, RunOptions(mock=mock_server.url, output_dir=tmp_path / "b"))
    assert lines(a.output_paths) == lines(b.output_paths)


def test_node_config_is_checked_when_added() -> None:
    """A typo in a node's config fails at add_node, naming the key and the nearest valid one."""
    with pytest.raises(
        ConfigError, match=r"nodes\.gen\.promt: unknown key 'promt' \(did you mean 'prompt'\?\)"
    ):
        Graph().add_node("gen", "llm", promt=[{"user": "x"}], model={"name": "m"})


def test_callables_become_dotted_paths_and_lambdas_are_refused() -> None:
    """to_yaml writes module-level callables as dotted paths; a lambda cannot be written."""
    graph = Graph().add_node("j", "lambda", output_keys="x", **{"lambda": json.dumps})
    graph.add_edge(START, "j").add_edge("j", END)
    assert "lambda: json.dumps" in graph.to_yaml()
    lam = Graph().add_node("j", "lambda", output_keys="x", **{"lambda": lambda s: 1})
    with pytest.raises(
        ConfigError, match=r"graph_config\.nodes\.j\.lambda: .*no importable dotted path"
    ):
        lam.to_yaml()


def test_graph_built_in_code_runs_with_callables(tmp_path: Path) -> None:
    """A data-less graph of Python callables, with a loop, runs without any YAML."""
    graph = (
        Graph(recursion_limit=10)
        .add_node(
            "count",
            "lambda",
            output_keys="n",
            inline=True,
            **{"lambda": lambda s: s.get("n", 0) + 1},
        )
        .add_edge(START, "count")
        .add_conditional_edge(
            "count", lambda s: "done" if s["n"] >= 3 else "again", {"done": END, "again": "count"}
        )
    )
    result = run_task(
        graph.to_task(data_config={"num_records": 4}, task_dir=tmp_path),
        RunOptions(output_dir=tmp_path),
    )
    assert [r["n"] for r in result.records()] == [3, 3, 3, 3]


def test_asyncio_embedding_example_runs() -> None:
    """The documented example embeds a run in another asyncio program."""
    script = EXAMPLES / "python_api" / "embed_in_asyncio.py"
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "generated 12 records" in done.stdout


def test_graph_config_is_a_copy_the_caller_may_edit() -> None:
    """Editing what to_graph_config() returned never changes the graph it came from."""
    graph = Graph().add_node("ask", "llm", prompt=[{"user": "hi"}], model={"name": "m"})
    config = graph.to_graph_config()
    config["nodes"]["ask"]["prompt"][0] = {"user": "changed"}
    config["edges"].append({"from": START, "to": "ask"})
    again = graph.to_graph_config()
    assert again["nodes"]["ask"]["prompt"] == [{"user": "hi"}]
    assert again["edges"] == []


def test_a_subgraph_built_in_code_is_written_inline() -> None:
    """A subgraph node holding a builder Graph becomes `graph_config` in YAML, and loads back."""
    inner = (
        Graph()
        .add_node("ask", "llm", prompt=[{"user": "{q}"}], model={"name": "m"}, output_keys="a")
        .add_edge(START, "ask")
        .add_edge("ask", END)
    )
    outer = Graph().add_node("sub", "subgraph", graph=inner).add_edge(START, "sub")
    outer.add_edge("sub", END)
    text = outer.to_yaml()
    assert "      graph_config:\n" in text
    assert "graph:" not in text
    loaded = Graph.from_yaml(text).to_graph_config()
    assert loaded["nodes"]["sub"]["graph_config"]["nodes"]["ask"]["output_keys"] == "a"
