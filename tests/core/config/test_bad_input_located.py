"""Mistakes in a task's structure are reported at `file:line: YAML path`.

Unknown keys, values of the wrong type, unknown node types, edges to unknown nodes,
unreachable nodes and loops without a condition each name the line (checked against the
line the YAML writer put the key on) and the YAML path of the mistake.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from grasp_core import registry
from grasp_core.config.yaml_source import YamlPath, format_yaml_path
from tests.core.config.bad_task_strategies import _one_line, _text, junk, node_names
from tests.core.config.bad_tasks import (
    BASE,
    STEPS_MODULE,
    STRICT_MAPPINGS,
    Emitter,
    get,
    new_folder,
    paths_in,
    with_edges,
)
from tests.core.config.grasp_cli import validate_file


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    at=st.sampled_from(STRICT_MAPPINGS),
    key=st.text(_one_line.filter(lambda c: c != "["), max_size=10).map(lambda s: "zz" + s),
    value=junk,
)
def test_an_unknown_key_is_named_with_file_line_and_yaml_path(
    tmp_path: Path, at: YamlPath, key: str, value: Any
) -> None:
    """An unknown key anywhere a config model checks keys is reported at file:line: path."""
    doc = copy.deepcopy(BASE)
    get(doc, at)[key] = value
    emitter = Emitter()
    path = new_folder(tmp_path) / "task.yaml"
    path.write_text(emitter.document(doc), encoding="utf-8")
    code, message = validate_file(path)
    assert code == 2
    where = f"{path}:{emitter.lines[(*at, key)]}: {format_yaml_path((*at, key))}: unknown key"
    assert where in message


def _typed_paths() -> list[YamlPath]:
    """Paths to known keys outside free-form blocks (`parameters`, prompt texts)."""
    return [
        p
        for p in paths_in(BASE)
        if isinstance(p[-1], str)
        and "parameters" not in p
        and "prompt" not in p[:-1]
        and p[:2] != ("data_config", "source")
        and p[:2] != ("data_config", "sink")
    ]


def _kind(value: Any) -> str:
    return type(value).__name__ if not isinstance(value, bool) else "bool"


def _is_list_of_names(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(at=st.sampled_from(_typed_paths()), value=junk)
def test_a_wrong_type_is_named_at_its_key_or_an_enclosing_one(
    tmp_path: Path, at: YamlPath, value: Any
) -> None:
    """A known key given a value of another type is accepted, or reported at file:line: path
    of that key, of an item in it (a list of the wrong items), or of a block that holds it."""
    assume(_kind(value) != _kind(get(BASE, at)))
    # a list of names is output_keys' other valid type: the task then fails (if at all)
    # where a later node reads a key the list dropped, not at this key
    assume(not (at[-1] == "output_keys" and _is_list_of_names(value)))
    doc = copy.deepcopy(BASE)
    get(doc, at[:-1])[at[-1]] = value
    emitter = Emitter()
    path = new_folder(tmp_path) / "task.yaml"
    path.write_text(emitter.document(doc), encoding="utf-8")
    code, message = validate_file(path)
    if code == 0:
        return
    enclosing = [at[:end] for end in range(len(at), 0, -1)]
    cited = [f"{path}:{emitter.lines[p]}: {format_yaml_path(p)}" for p in enclosing]
    item = re.escape(f"{path}:") + r"\d+: " + re.escape(format_yaml_path(at)) + r"\["
    if value in (None, [], {}) and not any(where in message for where in cited):
        # null or empty is the same as leaving an optional key out: the task then fails (if
        # at all) where the default leads, exactly as it does without the key.
        del get(doc, at[:-1])[at[-1]]
        path.write_text(Emitter().document(doc), encoding="utf-8")
        assert validate_file(path)[0] == code
        return
    assert any(where in message for where in cited) or re.search(item, message), (cited, message)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=node_names, style=st.sampled_from(["orphan", "unknown-target", "loop"]))
def test_structural_errors_name_the_node_and_its_line(
    tmp_path: Path, name: str, style: str
) -> None:
    """Unreachable nodes, edges to unknown nodes and loops without a condition are each
    reported with the node's name (any unicode) at file:line: YAML path."""
    doc = copy.deepcopy(BASE)
    nodes, edges = doc["graph_config"]["nodes"], doc["graph_config"]["edges"]
    assume(name not in nodes)
    if style == "orphan":
        nodes[name] = {
            "node_type": "lambda",
            "lambda": f"{STEPS_MODULE}.double",
            "output_keys": "y",
        }
    elif style == "unknown-target":
        edges.append({"from": "first", "to": name})
    else:  # a self-loop off the main path (see test_a_simple_loop_beside_a_conditional_one...)
        nodes[name] = {
            "node_type": "lambda",
            "lambda": f"{STEPS_MODULE}.double",
            "output_keys": "y",
        }
        edges.extend([{"from": "first", "to": name}, {"from": name, "to": name}])
        edges.append({"from": name, "to": "END"})
    emitter = Emitter()
    path = new_folder(tmp_path) / "task.yaml"
    path.write_text(emitter.document(doc), encoding="utf-8")
    code, message = validate_file(path)
    assert code == 2
    if style == "orphan":
        at: YamlPath = ("graph_config", "nodes", name)
        expected = f"node {name!r} is unreachable from START"
    elif style == "unknown-target":
        at = ("graph_config", "edges", len(edges) - 1, "to")
        expected = f"unknown node {name!r}"
    else:
        at = ("graph_config", "edges")
        expected = "form a loop with no conditional edge"
    assert f"{path}:{emitter.lines[at]}: {format_yaml_path(at)}: " in message
    assert expected in message


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(node_type=_text.filter(lambda t: t not in registry.nodes.names()))
def test_an_unknown_node_type_is_named_at_its_line(tmp_path: Path, node_type: str) -> None:
    """An unknown `node_type` is reported at its own line, listing the known types."""
    doc = copy.deepcopy(BASE)
    doc["graph_config"]["nodes"]["ask"]["node_type"] = node_type
    emitter = Emitter()
    path = new_folder(tmp_path) / "task.yaml"
    path.write_text(emitter.document(doc), encoding="utf-8")
    code, message = validate_file(path)
    assert code == 2
    at = ("graph_config", "nodes", "ask", "node_type")
    assert f"{path}:{emitter.lines[at]}: {format_yaml_path(at)}: " in message
    assert "llm" in message
    assert "lambda" in message


@pytest.mark.parametrize("key", ["list", "items[0]"])
def test_an_unknown_key_that_looks_like_a_type_is_named(tmp_path: Path, key: str) -> None:
    """An unknown key named like a type or holding brackets is still named at its line."""
    doc = copy.deepcopy(BASE)
    doc[key] = 1
    emitter = Emitter()
    path = new_folder(tmp_path) / "task.yaml"
    path.write_text(emitter.document(doc), encoding="utf-8")
    code, message = validate_file(path)
    assert code == 2
    assert f"{path}:{emitter.lines[(key,)]}: {key}: unknown key {key!r}" in message


def test_a_simple_loop_beside_a_conditional_one_does_not_compile(tmp_path: Path) -> None:
    """A loop made only of simple edges never ends, even next to a conditional loop."""
    path = new_folder(tmp_path) / "task.yaml"
    path.write_text(
        with_edges({"from": "first", "to": "spin"}, {"from": "spin", "to": "first"}, node="spin"),
        encoding="utf-8",
    )
    code, message = validate_file(path)
    assert code == 2
    assert "loop with no conditional edge" in message
