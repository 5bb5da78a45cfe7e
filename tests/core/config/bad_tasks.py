"""The valid task every bad-input test starts from, and a YAML writer that records lines.

Line numbers in error messages are checked against the lines `Emitter` wrote each key and
list item at, so they check the loader rather than repeat it.
"""

from __future__ import annotations

import copy
import json
import math
import re
import tempfile
from pathlib import Path
from typing import Any

from grasp_core.config.yaml_source import YamlPath

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

    def _mapping(
        self, value: dict[str, Any], indent: int, path: YamlPath, first: str | None
    ) -> None:
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


_NOT_PRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")
"""Characters YAML does not allow raw, or reads as line breaks: written as escapes."""


def scalar(value: Any) -> str:
    """A YAML flow scalar: JSON, except for the floats JSON cannot write. Astral characters
    stay raw, since YAML reads a JSON surrogate pair escape as two lone surrogates."""
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
    if isinstance(value, dict | list):
        return "{}" if isinstance(value, dict) else "[]"
    text = json.dumps(value, ensure_ascii=False)
    return _NOT_PRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


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


def edited(path: YamlPath, value: Any) -> str:
    """BASE with ``value`` at ``path`` (a new key, or a replaced one), as block YAML."""
    doc = copy.deepcopy(BASE)
    get(doc, path[:-1])[path[-1]] = value
    return Emitter().document(doc)


def without(path: YamlPath) -> str:
    doc = copy.deepcopy(BASE)
    del get(doc, path[:-1])[path[-1]]
    return Emitter().document(doc)


def with_edges(*edges: dict[str, str], node: str | None = None) -> str:
    doc = copy.deepcopy(BASE)
    if node is not None:
        doc["graph_config"]["nodes"][node] = {
            "node_type": "lambda",
            "lambda": f"{STEPS_MODULE}.double",
            "output_keys": "y",
        }
    doc["graph_config"]["edges"].extend(edges)
    return Emitter().document(doc)


def new_folder(tmp_path: Path) -> Path:
    """A fresh folder per hypothesis example, holding the steps module and the data file."""
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    (folder / f"{STEPS_MODULE}.py").write_text(STEPS, encoding="utf-8")
    (folder / "data.jsonl").write_text('{"id": "a", "n": 1}\n{"id": "b", "n": 2}\n')
    return folder


EXIT_TASK = f"""\
data_config:
  source: {{type: disk, file_path: data.jsonl}}
  sink: {{type: jsonl, file_path: out/result.jsonl}}
graph_config:
  nodes:
    check: {{node_type: lambda, lambda: {STEPS_MODULE}.check, output_keys: kept}}
  edges:
    - {{from: START, to: check}}
    - {{from: check, to: END}}
"""


def exit_task(folder: Path, numbers: list[int]) -> Path:
    """A task whose lambda fails the records with an odd ``n``."""
    (folder / f"{STEPS_MODULE}.py").write_text(STEPS, encoding="utf-8")
    rows = "".join(json.dumps({"id": f"r{i}", "n": n}) + "\n" for i, n in enumerate(numbers))
    (folder / "data.jsonl").write_text(rows, encoding="utf-8")
    path = folder / "task.yaml"
    path.write_text(EXIT_TASK, encoding="utf-8")
    return path
