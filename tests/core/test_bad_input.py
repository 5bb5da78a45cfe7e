"""Bad task files and bad flags never crash `grasp`: each is a GraspError naming the file.

Task files are generated from a valid task by mutations (unknown keys at any level, wrong
types, deleted blocks, unknown node types, edges to unknown nodes, loops without a
condition, unreachable nodes, huge and non-ASCII strings) and by damage to the YAML text.
Loading and compiling one either succeeds or raises a ``GraspError`` whose message names
the file, with lines that exist and, where the mutation says where, the YAML path.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
import structlog
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from grasp_core import registry
from grasp_core.backends import BackendPool
from grasp_core.cli import main
from grasp_core.errors import GraspError
from grasp_core.graph.compile import compile_graph
from grasp_core.metrics import RunMetrics
from grasp_core.models_file import ModelCatalog
from grasp_core.protocols import BuildEnv
from grasp_core.task import Task
from grasp_core.yaml_source import YamlPath, format_yaml_path

STEPS_MODULE = "bad_input_steps"
STEPS = """\
def double(state):
    return state.get("n", 0) * 2


def route(state):
    return "done"


def check(state):
    if state["n"] % 2:
        raise ValueError(f"odd n={state['n']}")
    return state["n"]
"""

BASE: dict[str, Any] = {
    "data_config": {
        "source": {"type": "disk", "file_path": "data.jsonl"},
        "sink": {"type": "jsonl", "file_path": "out/out.jsonl"},
    },
    "graph_config": {
        "nodes": {
            "first": {
                "node_type": "lambda",
                "lambda": f"{STEPS_MODULE}.double",
                "output_keys": "x",
            },
            "ask": {
                "node_type": "llm",
                "output_keys": "reply",
                "prompt": [{"system": "be brief"}, {"user": "tell me about {x}"}],
                "model": {"name": "writer", "parameters": {"temperature": 0.5}},
            },
        },
        "edges": [
            {"from": "START", "to": "first"},
            {"from": "first", "to": "ask"},
            {
                "from": "ask",
                "condition": f"{STEPS_MODULE}.route",
                "path_map": {"again": "first", "done": "END"},
            },
        ],
        "recursion_limit": 10,
    },
    "output_config": {
        "output_map": {
            "x": {"from": "x"},
            "reply": {"from": "reply"},
            "source": {"value": "$data_config.source.file_path"},
        }
    },
    "schema_config": {"fields": [{"name": "reply", "type": "str", "min_length": 1}]},
}

STRICT_MAPPINGS: list[YamlPath] = [
    (),
    ("data_config",),
    ("graph_config",),
    ("graph_config", "nodes", "first"),
    ("graph_config", "nodes", "ask"),
    ("graph_config", "nodes", "ask", "model"),
    ("graph_config", "edges", 0),
    ("graph_config", "edges", 2),
    ("output_config",),
    ("output_config", "output_map", "x"),
    ("output_config", "output_map", "source"),
    ("schema_config",),
    ("schema_config", "fields", 0),
]
"""Mappings a config model checks key by key (free-form ones such as `parameters` excluded)."""


# --- writing YAML with known line numbers ---------------------------------------------------


class Emitter:
    """Block-style YAML writer that records the line of every mapping key and list item.

    Scalars are written as JSON (valid YAML flow scalars); the line numbers come from the
    writer itself, so they check the loader's line numbers rather than repeat them.
    """

    def __init__(self) -> None:
        self.out: list[str] = []
        self.lines: dict[YamlPath, int] = {}

    def text(self) -> str:
        return "\n".join(self.out) + "\n"

    def document(self, value: Any) -> str:
        if isinstance(value, dict) and value:
            self._mapping(value, 0, (), None)
        elif isinstance(value, list) and value:
            self._sequence(value, 0, ())
        else:
            self.out.append(scalar(value))
        return self.text()

    def _mapping(self, value: dict[str, Any], indent: int, path: YamlPath, first: str | None) -> None:
        for index, (key, item) in enumerate(value.items()):
            prefix = first if index == 0 and first is not None else " " * indent
            self.lines[(*path, key)] = len(self.out) + 1
            head = f"{prefix}{scalar(key)}:"
            if isinstance(item, dict) and item:
                self.out.append(head)
                self._mapping(item, indent + 2, (*path, key), None)
            elif isinstance(item, list) and item:
                self.out.append(head)
                self._sequence(item, indent + 2, (*path, key))
            else:
                self.out.append(f"{head} {scalar(item)}")

    def _sequence(self, value: list[Any], indent: int, path: YamlPath) -> None:
        for index, item in enumerate(value):
            self.lines[(*path, index)] = len(self.out) + 1
            dash = " " * indent + "- "
            if isinstance(item, dict) and item:
                self._mapping(item, indent + 2, (*path, index), dash)
            elif isinstance(item, list) and item:
                self.out.append(dash.rstrip())
                self._sequence(item, indent + 2, (*path, index))
            else:
                self.out.append(dash + scalar(item))


def scalar(value: Any) -> str:
    """A YAML flow scalar: JSON, except for the floats JSON cannot write."""
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
    if isinstance(value, dict | list):
        return "{}" if isinstance(value, dict) else "[]"
    return json.dumps(value)


# --- running `grasp validate` in-process ------------------------------------------------------


@pytest.fixture(autouse=True)
def _isolate(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Undo what in-process runs change globally: sys.path, structlog, $GRASP_MODELS."""
    monkeypatch.setattr(sys, "path", [*sys.path])
    monkeypatch.delenv("GRASP_MODELS", raising=False)
    yield
    structlog.reset_defaults()


def new_folder(tmp_path: Path) -> Path:
    """A fresh folder per hypothesis example, holding the steps module."""
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    (folder / f"{STEPS_MODULE}.py").write_text(STEPS, encoding="utf-8")
    return folder


def cli(*args: str) -> tuple[int, str, str]:
    """Run ``grasp ARGS`` in this process; return exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def compile_task(path: Path) -> None:
    """Load and compile a task through the Python API, as `grasp validate` does."""
    task = Task.load(path)
    catalog = ModelCatalog(mock_url="-")

    async def build() -> None:
        env = BuildEnv(task.task_dir, catalog, BackendPool(catalog), RunMetrics(), task.data)
        compile_graph(task.config.graph_config, env, document=task.document)

    anyio.run(build)


def line_count(path: Path) -> int:
    return len(path.read_bytes().splitlines()) or 1


def check_named(message: str, path: Path) -> None:
    """The message names the file, every problem line names it, and cited lines exist."""
    assert str(path) in message, message
    for line in message.splitlines():
        problem = line.strip()
        assert problem.endswith(":") or str(path) in problem, f"problem without file: {line!r}"
    for cited in re.findall(re.escape(str(path)) + r":(\d+)", message):
        assert 1 <= int(cited) <= line_count(path) + 1, f"line {cited} of {path}: {message}"


def validate_file(path: Path) -> tuple[int, str]:
    """`grasp validate PATH`: exit 0 with "ok", or exit 2 with one `grasp: error:` message."""
    code, out, err = cli("validate", str(path))
    assert "Traceback" not in out + err
    if code == 0:
        assert out.startswith(f"{path}: ok (")
        return code, ""
    assert code == 2, (code, out, err)
    assert out == ""
    assert err.startswith("grasp: error: ")
    message = err.removeprefix("grasp: error: ")
    check_named(message, path)
    return code, message


# --- strategies ----------------------------------------------------------------------------

_text = st.text(max_size=24)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats()
    | _text
)
junk = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=6,
)
huge_strings = st.builds(
    lambda piece, count: piece * count,
    st.sampled_from(["x", "é", "\u4e2d", "😀", "{", "\\", "{x}", " "]),
    st.integers(min_value=20_000, max_value=60_000),
)
values = st.one_of(junk, junk, junk, huge_strings)
keys = st.text(min_size=1, max_size=16)
node_names = st.text(min_size=1, max_size=12).filter(lambda s: s not in {"START", "END"})


def paths_in(value: Any, path: YamlPath = ()) -> list[YamlPath]:
    """Every path to a value below ``value`` (mapping keys and list positions)."""
    if not isinstance(value, dict | list):
        return []
    found: list[YamlPath] = []
    children = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in children:
        found.append((*path, key))
        found.extend(paths_in(item, (*path, key)))
    return found


def get(doc: Any, path: YamlPath) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def mutate(data: st.DataObject, doc: Any) -> Any:
    """Apply one random mutation to ``doc`` (in place where it can); return the result."""
    kind = data.draw(
        st.sampled_from(
            [
                "add-key",
                "replace",
                "delete",
                "node-type",
                "edge-to-unknown",
                "loop",
                "unreachable",
                "other-node-type",
                "top-level",
            ]
        ),
        label="mutation",
    )
    nodes = _dig(doc, ("graph_config", "nodes"))
    edges = _dig(doc, ("graph_config", "edges"))
    names = sorted(map(str, nodes)) if isinstance(nodes, dict) else []
    if kind == "add-key":
        containers = [p for p in [(), *paths_in(doc)] if isinstance(get(doc, p), dict | list)]
        target = get(doc, data.draw(st.sampled_from(containers), label="at"))
        if isinstance(target, dict):
            target[data.draw(keys, label="key")] = data.draw(values, label="value")
        else:
            target.append(data.draw(values, label="item"))
    elif kind in ("replace", "delete") and paths_in(doc):
        path = data.draw(st.sampled_from(paths_in(doc)), label="path")
        parent = get(doc, path[:-1])
        if kind == "delete":
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(values, label="value")
    elif kind == "node-type" and names:
        node = nodes[data.draw(st.sampled_from(names), label="node")]
        if isinstance(node, dict):
            node["node_type"] = data.draw(_text, label="node_type")
    elif kind == "edge-to-unknown" and isinstance(edges, list):
        source = data.draw(st.sampled_from(["START", *names]), label="from")
        edges.append({"from": source, "to": data.draw(node_names, label="to")})
    elif kind == "loop" and isinstance(edges, list) and names:
        source, target = data.draw(st.sampled_from(names)), data.draw(st.sampled_from(names))
        edges.append({"from": source, "to": target})
    elif kind == "unreachable" and isinstance(nodes, dict):
        nodes[data.draw(node_names, label="orphan")] = {
            "node_type": "lambda",
            "lambda": f"{STEPS_MODULE}.double",
            "output_keys": "orphan_out",
        }
    elif kind == "other-node-type" and isinstance(nodes, dict) and isinstance(edges, list):
        node_type = data.draw(st.sampled_from(registry.nodes.names()), label="type")
        fields = st.sampled_from(
            ["prompt", "model", "models", "tools", "graph", "graph_config", "attributes",
             "lambda", "output_keys", "max_steps", "input_map", "output_map", "timeout"]
        )
        config = data.draw(st.dictionaries(fields, values, max_size=4), label="config")
        nodes["extra"] = {"node_type": node_type, **config}
        edges.extend([{"from": "START", "to": "extra"}, {"from": "extra", "to": "END"}])
    elif kind == "top-level":
        return data.draw(st.one_of(junk.filter(lambda v: not isinstance(v, dict)), huge_strings))
    return doc


def _dig(doc: Any, path: YamlPath) -> Any:
    for part in path:
        if not isinstance(doc, dict) or part not in doc:
            return None
        doc = doc[part]
    return doc


def damage(data: st.DataObject, text: str) -> str:
    """Optionally damage the YAML text itself: insert, cut, indent with a tab, nest deeply."""
    kind = data.draw(
        st.sampled_from(["none", "none", "insert", "cut", "tab", "nest", "flow-junk"]),
        label="damage",
    )
    at = data.draw(st.integers(min_value=0, max_value=len(text)), label="offset")
    if kind == "insert":
        piece = data.draw(
            st.text(max_size=8) | st.sampled_from([":", "- ", "{", "[", "&a", "*a", "!!", "'"]),
            label="piece",
        )
        return text[:at] + piece + text[at:]
    if kind == "cut":
        return text[:at]
    if kind == "tab":
        start = text.rfind("\n", 0, at) + 1
        return text[:start] + "\t" + text[start:]
    if kind == "nest":
        depth = data.draw(st.integers(min_value=1, max_value=60), label="depth")
        opener = data.draw(st.sampled_from(["[", "{a: "]), label="opener")
        closer = "]" if opener == "[" else "}"
        return text + f"deep: {opener * depth}1{closer * depth}\n"
    if kind == "flow-junk":
        return text + data.draw(st.text(max_size=30), label="tail")
    return text


def serialise(data: st.DataObject, doc: Any) -> str:
    if data.draw(st.booleans(), label="json"):
        ascii_only = data.draw(st.booleans(), label="ascii")
        return json.dumps(doc, ensure_ascii=ascii_only, indent=data.draw(st.sampled_from([None, 2])))
    return Emitter().document(doc)


# --- properties ----------------------------------------------------------------------------


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_mutated_task_validates_or_is_a_grasp_error_naming_the_file(
    tmp_path: Path, data: st.DataObject
) -> None:
    """Any mutated or damaged task file gives exit 0 or one `grasp: error:` naming the file."""
    doc: Any = copy.deepcopy(BASE)
    for _ in range(data.draw(st.integers(min_value=1, max_value=3), label="mutations")):
        doc = mutate(data, doc)
    text = damage(data, serialise(data, doc))
    path = new_folder(tmp_path) / data.draw(st.sampled_from(["task.yaml", "tâsk ünï.yml"]))
    path.write_text(text, encoding="utf-8")
    validate_file(path)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_arbitrary_text_is_a_task_or_a_grasp_error(tmp_path: Path, text: str) -> None:
    """Arbitrary (valid UTF-8) text as a task file never raises anything but a GraspError."""
    path = new_folder(tmp_path) / "task.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        compile_task(path)
    except GraspError as exc:
        check_named(str(exc), path)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    at=st.sampled_from(STRICT_MAPPINGS),
    key=st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=("Cs",)), max_size=10).map(
        lambda s: "zz" + s
    ),
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


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(at=st.sampled_from(_typed_paths()), value=junk)
def test_a_wrong_type_is_named_at_its_key_or_an_enclosing_one(
    tmp_path: Path, at: YamlPath, value: Any
) -> None:
    """A known key given a value of another type is accepted, or reported at file:line: path
    of that key or of a block that holds it."""
    assume(_kind(value) != _kind(get(BASE, at)))
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
    assert any(where in message for where in cited), (cited, message)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=node_names, style=st.sampled_from(["orphan", "unknown-target", "loop"]))
def test_structural_errors_name_the_node_and_its_line(tmp_path: Path, name: str, style: str) -> None:
    """Unreachable nodes, edges to unknown nodes and loops without a condition are each
    reported with the node's name (any unicode) at file:line: YAML path."""
    doc = copy.deepcopy(BASE)
    nodes, edges = doc["graph_config"]["nodes"], doc["graph_config"]["edges"]
    assume(name not in nodes)
    if style == "orphan":
        nodes[name] = {"node_type": "lambda", "lambda": f"{STEPS_MODULE}.double", "output_keys": "y"}
    elif style == "unknown-target":
        edges.append({"from": "first", "to": name})
    else:
        nodes[name] = {"node_type": "lambda", "lambda": f"{STEPS_MODULE}.double", "output_keys": "y"}
        edges.extend([{"from": "first", "to": name}, {"from": name, "to": "first"}])
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


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
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
    assert "llm" in message and "lambda" in message


def test_the_base_task_is_valid(tmp_path: Path) -> None:
    """The task every mutation starts from validates, so each error comes from a mutation."""
    path = new_folder(tmp_path) / "task.yaml"
    path.write_text(Emitter().document(BASE), encoding="utf-8")
    assert validate_file(path) == (0, "")
