"""A task file as the Studio edits it: ruamel.yaml's round-trip mode, so every edit made on
the canvas or in a node's form keeps the user's comments, key order and quoting.

Each edit reads the file, changes the one place it names and writes the file back; the
Studio holds no copy that could go stale beside the editor."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

import grasp_core
from grasp_core.errors import ConfigError

__all__ = [
    "TaskYamlError",
    "add_edge",
    "add_node",
    "dump",
    "line_of",
    "load",
    "load_text",
    "remove_edge",
    "remove_node",
    "set_node",
]

_MAX_BYTES = 2_000_000
"""A task file larger than this is not one the Studio edits."""


class TaskYamlError(ValueError):
    """The text is not YAML the Studio can edit; the message names the line."""


def _yaml() -> YAML:
    yaml = grasp_core.bounded_yaml()  # alias bombs and runaway nesting are refused
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long prompt line the user wrote on one line
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def load_text(text: str, source: str = "task.yaml") -> CommentedMap:
    """``text`` parsed round-trip; it must be a mapping (a task)."""
    if len(text.encode("utf-8")) > _MAX_BYTES:
        raise TaskYamlError(f"{source}: larger than {_MAX_BYTES} bytes; edit it in a text editor")
    try:
        data = _yaml().load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise TaskYamlError(f"{where}: not valid YAML ({problem})") from None
    except ConfigError as exc:  # too many aliased values, or nested too deep: "LINE: ..."
        raise TaskYamlError(f"{source}:{exc}") from None
    if data is None:
        data = CommentedMap()
    if not isinstance(data, CommentedMap):
        raise TaskYamlError(f"{source}: a task file is a mapping (data_config, graph_config...)")
    return data


def load(path: Path) -> CommentedMap:
    return load_text(path.read_text(encoding="utf-8"), path.name)


def dump(data: CommentedMap) -> str:
    out = io.StringIO()
    _yaml().dump(data, out)
    return out.getvalue()


def line_of(data: Any, path: list[str | int]) -> int | None:
    """The 1-based line of the key (or item) at ``path``, or of its nearest ancestor."""
    node, best = data, None
    for part in path:
        lc = getattr(node, "lc", None)
        try:
            if isinstance(node, CommentedMap) and part in node:
                best = lc.key(part)[0] + 1 if lc is not None else best
                node = node[part]
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
                best = lc.item(part)[0] + 1 if lc is not None else best
                node = node[part]
            else:
                break
        except (KeyError, IndexError, TypeError):
            break
    return best


def _graph(data: CommentedMap) -> CommentedMap:
    graph = data.get("graph_config")
    if graph is None:
        graph = data["graph_config"] = CommentedMap()
    if not isinstance(graph, CommentedMap):
        raise TaskYamlError("graph_config is not a mapping; fix it in the YAML first")
    for key, empty in (("nodes", CommentedMap), ("edges", CommentedSeq)):
        if graph.get(key) is None:
            graph[key] = empty()
    if not isinstance(graph["nodes"], CommentedMap) or not isinstance(graph["edges"], CommentedSeq):
        raise TaskYamlError("graph_config.nodes must be a mapping and edges a list")
    return graph


def add_node(data: CommentedMap, name: str, node_type: str, config: dict[str, Any]) -> None:
    """Add node ``name`` of ``node_type`` with ``config`` (its other keys)."""
    nodes = _graph(data)["nodes"]
    if name in nodes:
        raise TaskYamlError(f"a node named {name!r} exists already; pick another name")
    block = CommentedMap({"node_type": node_type})
    block.update({k: v for k, v in config.items() if k != "node_type"})
    nodes[name] = block


def remove_node(data: CommentedMap, name: str) -> None:
    """Remove node ``name`` and every edge to or from it (a conditional edge keeps its other
    labels; one left with none goes too)."""
    graph = _graph(data)
    if name not in graph["nodes"]:
        raise TaskYamlError(f"there is no node {name!r}")
    del graph["nodes"][name]
    edges: CommentedSeq = graph["edges"]
    for index in range(len(edges) - 1, -1, -1):
        edge = edges[index]
        if not isinstance(edge, dict):
            continue
        if edge.get("from") == name or edge.get("to") == name:
            del edges[index]
            continue
        path_map = edge.get("path_map")
        if isinstance(path_map, dict):
            for label in [k for k, v in path_map.items() if v == name]:
                del path_map[label]
            if not path_map:
                del edges[index]


def add_edge(data: CommentedMap, source: str, target: str) -> None:
    """Connect ``source`` to ``target`` with a simple edge (START and END included)."""
    graph = _graph(data)
    known = {"START", "END", *graph["nodes"]}
    for end in (source, target):
        if end not in known:
            raise TaskYamlError(f"there is no node {end!r}")
    if source == "END" or target == "START":
        raise TaskYamlError("edges leave START and arrive at END, never the other way")
    for edge in graph["edges"]:
        if isinstance(edge, dict) and edge.get("from") == source and edge.get("to") == target:
            raise TaskYamlError(f"{source} is already connected to {target}")
    graph["edges"].append(CommentedMap([("from", source), ("to", target)]))


def remove_edge(data: CommentedMap, source: str, target: str) -> None:
    """Remove the simple edge ``source`` → ``target``."""
    edges: CommentedSeq = _graph(data)["edges"]
    for index, edge in enumerate(edges):
        if isinstance(edge, dict) and edge.get("from") == source and edge.get("to") == target:
            del edges[index]
            return
    raise TaskYamlError(f"there is no edge from {source} to {target}")


def set_node(data: CommentedMap, name: str, values: dict[str, Any]) -> None:
    """Set ``values`` on node ``name``: a key already there keeps its place (and comments),
    a new one goes last, a ``None`` value removes the key."""
    nodes = _graph(data)["nodes"]
    block = nodes.get(name)
    if not isinstance(block, CommentedMap):
        raise TaskYamlError(f"there is no node {name!r}")
    for key, value in values.items():
        if value is None:
            block.pop(key, None)
        elif key in block and _same(block[key], value):
            continue  # unchanged: keep the original's formatting
        else:
            block[key] = value


def _same(before: Any, after: Any) -> bool:
    """Plain-data equality (ruamel's scalars compare as their values)."""
    return bool(before == after)
