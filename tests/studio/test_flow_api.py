"""The flow view's API: a task drawn (shapes, conditional labels, loops, subgraph groups,
the same layout every time), edits that keep the file's comments and key order, node forms
from the config models, and validation problems placed on their line and node."""

from __future__ import annotations

import textwrap
from typing import Any

import httpx
import pytest

from tests.studio.conftest import Studio

COMMENTED = textwrap.dedent(
    """\
    # A task with comments everywhere: the Studio must keep every one.
    data_config:
      source: {type: disk, file_path: data/topics.jsonl}  # the topics
      sink: {type: jsonl, file_path: output/loop.jsonl}
    graph_config:
      nodes:
        # the writer drafts
        draft:
          node_type: lambda
          lambda: steps.count_words  # any function will do here
          output_keys: words
        review:
          output_keys: verdict  # key order: output_keys before node_type, on purpose
          node_type: lambda
          lambda: steps.count_words
        polish:
          node_type: subgraph
          graph_config:
            nodes:
              inner: {node_type: lambda, lambda: steps.count_words, output_keys: n}
            edges:
              - {from: START, to: inner}
              - {from: inner, to: END}
      edges:
        - from: START
          to: draft
        - from: draft
          to: review
        # a loop back to the draft, or on to the polish
        - from: review
          condition: steps.count_words
          path_map: {again: draft, done: polish}
        - {from: polish, to: END}
    """
)


@pytest.fixture
def client(studio_server: Studio) -> Any:
    (studio_server.workspace / "quickstart" / "loop.yaml").write_text(COMMENTED, encoding="utf-8")
    with studio_server.client(timeout=60) as client:
        yield client


def _edit(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.post("/api/task/edit", json={"path": "quickstart/loop.yaml", **body})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_the_graph_is_drawn_with_labels_loops_and_groups_the_same_every_time(
    client: httpx.Client,
) -> None:
    """Conditional edges carry their labels; the edge back to the draft is a loop; the
    inline subgraph is a group holding its inner nodes; two reads give the same layout."""
    first = client.get("/api/task", params={"path": "quickstart/loop.yaml"}).json()
    again = client.get("/api/task", params={"path": "quickstart/loop.yaml"}).json()
    assert first["graph"] == again["graph"]
    graph = first["graph"]
    kinds = {node["id"]: node["kind"] for node in graph["nodes"]}
    assert kinds["draft"] == "lambda"
    assert kinds["START"] == kinds["END"] == "terminal"
    assert "polish.inner" in kinds  # drawn inside the group
    assert [g["id"] for g in graph["groups"]] == ["polish"]
    edges = {(e["from"], e["to"]): e for e in graph["edges"]}
    assert edges[("review", "draft")]["label"] == "again"
    assert edges[("review", "draft")]["loop"] is True
    assert edges[("review", "polish")]["label"] == "done"
    assert edges[("review", "polish")]["loop"] is False
    assert ("polish.START", "polish.inner") in edges
    y = {node["id"]: node["y"] for node in graph["nodes"]}
    assert y["START"] < y["draft"] < y["review"] < y["END"]
    group = graph["groups"][0]
    inner = next(n for n in graph["nodes"] if n["id"] == "polish.inner")
    assert group["x"] <= inner["x"]
    assert inner["x"] + inner["w"] <= group["x"] + group["w"]
    assert first["lines"]["review"] == 12


def test_edits_keep_comments_and_key_order(client: httpx.Client, studio_server: Studio) -> None:
    """Adding, connecting, changing and removing nodes rewrites only what changed: every
    comment stays, and keys keep the order the user wrote them in."""
    _edit(
        client,
        op="add_node",
        name="extra",
        node_type="lambda",
        config={"lambda": "steps.count_words", "output_keys": "x"},
    )
    _edit(client, op="add_edge", **{"from": "draft", "to": "extra"})
    _edit(client, op="set_node", name="review", values={"description": "checks the draft"})
    _edit(client, op="remove_edge", **{"from": "draft", "to": "extra"})
    answer = _edit(client, op="remove_node", name="extra")
    text = (studio_server.workspace / "quickstart" / "loop.yaml").read_text(encoding="utf-8")
    assert answer["yaml"] == text
    expected = COMMENTED.replace(
        "      lambda: steps.count_words\n    polish:",
        "      lambda: steps.count_words\n      description: checks the draft\n    polish:",
    )
    assert text == expected


def test_removing_a_node_removes_its_edges_and_labels(client: httpx.Client) -> None:
    """A removed node takes its simple edges and its labels in a path_map with it."""
    answer = _edit(client, op="remove_node", name="polish")
    assert "polish" not in answer["nodes"]
    assert "done: polish" not in answer["yaml"]
    assert "again: draft" in answer["yaml"]
    assert "from: polish" not in answer["yaml"]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"op": "rename"}, 400, "`op` must be one of"),
        ({"op": "add_node", "name": "a b", "node_type": "lambda"}, 400, "use letters, digits"),
        ({"op": "add_node", "name": "draft", "node_type": "lambda"}, 400, "exists already"),
        ({"op": "add_node", "name": "n", "node_type": "nope"}, 400, "unknown node type"),
        ({"op": "add_edge", "from": "END", "to": "draft"}, 400, "never the other way"),
        ({"op": "add_edge", "from": "draft", "to": "ghost"}, 400, "no node 'ghost'"),
        ({"op": "set_node", "name": "draft", "values": {"node_type": "llm"}}, 400, "type"),
        ({"op": "remove_node", "name": "ghost"}, 400, "no node 'ghost'"),
    ],
)
def test_a_bad_edit_is_one_line_and_changes_nothing(
    client: httpx.Client, studio_server: Studio, body: dict[str, Any], status: int, message: str
) -> None:
    """Each refused edit: its status, one JSON line saying what to do, the file untouched."""
    response = client.post("/api/task/edit", json={"path": "quickstart/loop.yaml", **body})
    assert response.status_code == status
    assert set(response.json()) == {"error"}
    assert message in response.json()["error"]
    assert "\n" not in response.json()["error"]
    assert (studio_server.workspace / "quickstart" / "loop.yaml").read_text() == COMMENTED


def test_yaml_that_does_not_parse_is_refused_with_its_line(
    client: httpx.Client, studio_server: Studio
) -> None:
    """Saving text that is not YAML: 400 naming the line; the file keeps its text."""
    response = client.post(
        "/api/task/yaml", json={"path": "quickstart/loop.yaml", "yaml": "a: [1, 2\nb: 3\n"}
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith("loop.yaml:")
    assert "not valid YAML" in response.json()["error"]
    assert (studio_server.workspace / "quickstart" / "loop.yaml").read_text() == COMMENTED


def test_validation_problems_name_the_line_and_the_node(client: httpx.Client) -> None:
    """A node with a key its type does not have: the problem carries the workspace file,
    the key's line, its YAML path and the node."""
    _edit(client, op="set_node", name="review", values={"temperature": 1})
    answer = client.get("/api/validate", params={"path": "quickstart/loop.yaml"}).json()
    assert answer["ok"] is False
    [problem] = answer["problems"]
    assert problem["file"] == "quickstart/loop.yaml"
    assert problem["path"] == "graph_config.nodes.review.temperature"
    assert problem["node"] == "review"
    assert problem["line"] == 16
    assert "unknown key 'temperature'" in problem["message"]
    assert "/" not in problem["message"].split("'")[0]  # no absolute path in the message


def test_node_forms_come_from_the_config_models_with_their_docstrings(
    client: httpx.Client,
) -> None:
    """Every registered type has a schema; a field's description is its docstring."""
    types = client.get("/api/node-types").json()["types"]
    assert {"llm", "lambda", "subgraph"} <= set(types)
    schema = client.get("/api/node-schema", params={"type": "lambda"}).json()["schema"]
    assert "Dotted path to a function" in schema["properties"]["lambda"]["description"]
    assert client.get("/api/node-schema", params={"type": "nope"}).status_code == 404


def test_a_subgraph_file_is_drawn_only_from_inside_the_workspace(studio_server: Studio) -> None:
    """``graph: inner.yaml`` beside the task is drawn as a group with its nodes; a ``graph``
    that leads out of the workspace is a plain node, its file never read."""
    folder = studio_server.workspace / "nested"
    folder.mkdir()
    inner = "nodes:\n  deep: {node_type: lambda, lambda: steps.f}\nedges:\n"
    inner += "  - {from: START, to: deep}\n  - {from: deep, to: END}\n"
    (folder / "inner.yaml").write_text(inner, encoding="utf-8")
    (studio_server.workspace.parent / "secret.yaml").write_text(inner.replace("deep", "hidden"))
    (folder / "task.yaml").write_text(
        "graph_config:\n  nodes:\n"
        "    mine: {node_type: subgraph, graph: inner.yaml}\n"
        "    theirs: {node_type: subgraph, graph: ../../secret.yaml}\n"
        "  edges:\n    - {from: START, to: mine}\n    - {from: mine, to: theirs}\n"
        "    - {from: theirs, to: END}\n",
        encoding="utf-8",
    )
    with studio_server.client() as client:
        graph = client.get("/api/task", params={"path": "nested/task.yaml"}).json()["graph"]
    ids = {node["id"] for node in graph["nodes"]}
    assert "mine.deep" in ids
    assert [group["id"] for group in graph["groups"]] == ["mine"]
    theirs = next(node for node in graph["nodes"] if node["id"] == "theirs")
    assert theirs["kind"] == "subgraph"
    assert theirs["note"] == "../../secret.yaml"
    assert not any("hidden" in node_id for node_id in ids)
