"""Compile ``graph_config`` into a :class:`CompiledGraph`, reporting every problem at once."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from grasp_core import registry
from grasp_core.config import GraphConfig, NodeConfig, validate_block
from grasp_core.config.callables import UserCallable, load_callable
from grasp_core.config.task_file import in_sygra_file
from grasp_core.config.yaml_source import YamlDocument, YamlPath, format_yaml_path
from grasp_core.errors import CompileError, ConfigError
from grasp_core.graph.checks import (
    back_edges,
    forward_reach,
    loops_without_exit,
    parallel_pairs,
    reachable,
)
from grasp_core.graph.compiled import END, START, CompiledGraph, CompiledNode, Edge, EdgeKey
from grasp_core.graph.hook_styles import post_process_hook, pre_process_hook
from grasp_core.graph.state import APPEND_KEYS
from grasp_core.protocols import BuildEnv

__all__ = ["compile_graph"]

_ROOT: YamlPath = ("graph_config",)


class _Problems:
    def __init__(self, document: YamlDocument | None, root: YamlPath) -> None:
        self.document = document
        self.root = root
        self.items: list[str] = []

    def add(self, path: YamlPath, message: str) -> None:
        path = (*self.root, *path[len(_ROOT) :])
        where = self.document.where(path) if self.document else format_yaml_path(path)
        self.items.append(f"{where}: {message}")

    def raise_if_any(self) -> None:
        if len(self.items) == 1:
            raise CompileError(self.items[0])
        if self.items:
            raise CompileError(
                "the graph does not compile:\n" + "\n".join(f"  {item}" for item in self.items)
            )


def compile_graph(
    config: GraphConfig, env: BuildEnv, *, document: YamlDocument | None = None
) -> CompiledGraph:
    """Build every node, wire the edges, and check the structure.

    Error locations use ``document`` (default ``env.document``) at ``env.graph_root``.
    """
    document = document if document is not None else env.document
    if env.document is not document:
        env = dataclasses.replace(env, document=document)
    problems = _Problems(document, env.graph_root)
    edges = _build_edges(config, env, problems)
    if not problems.items:  # edges naming unknown nodes: their structure says nothing more
        _check_structure(config, edges, problems)
    nodes: dict[str, CompiledNode] = {}
    for name, raw in config.nodes.items():  # each node's config is checked on its own
        try:
            nodes[name] = _build_node(name, raw, env, document)
        except ConfigError as exc:
            problems.items.append(str(exc))
    problems.raise_if_any()
    for loop in loops_without_exit(edges):
        problems.add(
            (*_ROOT, "edges"),
            f"nodes {', '.join(map(repr, loop))} form a loop with no conditional edge, so it "
            "could never end; make the edge back to an earlier node conditional",
        )
    problems.raise_if_any()
    back = back_edges(edges)
    reach = forward_reach(edges, back, nodes)
    _check_parallel_writes(edges, reach, nodes, problems)
    problems.raise_if_any()
    out_edges: dict[str, list[Edge]] = {}
    forward_in: dict[str, list[EdgeKey]] = {}
    for edge in edges:
        out_edges.setdefault(edge.source, []).append(edge)
        for target in edge.targets():
            if (edge.index, target) not in back:
                forward_in.setdefault(target, []).append((edge.index, target))
    return CompiledGraph(
        nodes=nodes,
        edges=edges,
        out_edges={k: tuple(v) for k, v in out_edges.items()},
        forward_in={k: tuple(v) for k, v in forward_in.items()},
        back_edges=back,
        reach=reach,
        properties=config.properties(),
        sequential=all(len(out) <= 1 for out in out_edges.values()),
    )


def _build_edges(config: GraphConfig, env: BuildEnv, problems: _Problems) -> tuple[Edge, ...]:
    names = set(config.nodes)
    edges: list[Edge] = []
    for index, spec in enumerate(config.edges):
        path = (*_ROOT, "edges", index)
        if spec.from_ == END:
            problems.add((*path, "from"), "an edge cannot start at END")
        elif spec.from_ != START and spec.from_ not in names:
            problems.add((*path, "from"), _unknown(spec.from_, names))
        targets = (
            [spec.to] if spec.to is not None else list(_path_map(spec.path_map or {}).values())
        )
        for target in targets:
            if target == START:
                problems.add(path, "an edge cannot lead to START")
            elif target != END and target not in names:
                key = "to" if spec.to is not None else "path_map"
                problems.add((*path, key), _unknown(target, names))
        condition: UserCallable | None = None
        if spec.condition is not None:
            try:
                condition = load_callable(
                    spec.condition,
                    env.task_dir,
                    what="edge condition",
                    run_in="auto",
                    where=f"the condition of graph_config.edges[{index}]",
                )
            except ConfigError as exc:
                problems.add((*path, "condition"), str(exc))
        edges.append(
            Edge(
                index=index,
                source=spec.from_,
                to=spec.to,
                condition=condition,
                path_map=_path_map(spec.path_map) if spec.path_map is not None else None,
            )
        )
    return tuple(edges)


_LANGGRAPH_END = "__end__"
"""LangGraph's END, which SyGra's conditions return and its path maps may name."""


def _path_map(path_map: Mapping[str, str]) -> dict[str, str]:
    """``path_map`` with LangGraph's ``"__end__"`` read as END, as a target and as a label
    (a condition returning ``"__end__"`` takes the map's `END` label)."""
    mapped = {label: END if to == _LANGGRAPH_END else to for label, to in path_map.items()}
    if END in mapped and _LANGGRAPH_END not in mapped:
        mapped[_LANGGRAPH_END] = mapped[END]
    return mapped


def _unknown(name: str, names: set[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, sorted(names), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown node {name!r}{hint}; nodes are: {', '.join(sorted(names))}, START, END"


def _check_structure(config: GraphConfig, edges: tuple[Edge, ...], problems: _Problems) -> None:
    forward: dict[str, list[str]] = {}
    backward: dict[str, list[str]] = {}
    for edge in edges:
        for target in edge.targets():
            forward.setdefault(edge.source, []).append(target)
            backward.setdefault(target, []).append(edge.source)
    from_start = reachable(START, forward)
    to_end = reachable(END, backward)
    if END not in from_start:
        problems.add((*_ROOT, "edges"), "no path leads from START to END; add an edge to END")
    for name in config.nodes:
        path = (*_ROOT, "nodes", name)
        if name not in from_start:
            problems.add(path, f"node {name!r} is unreachable from START; add an edge to it")
        elif name not in to_end:
            problems.add(path, f"node {name!r} cannot reach END; add an edge from it")


def _build_node(
    name: str, raw: Mapping[str, Any], env: BuildEnv, document: YamlDocument | None
) -> CompiledNode:
    path = (*env.graph_root, "nodes", name)
    if isinstance(raw, Mapping) and "node_type" not in raw:
        _missing_node_type(raw, path, document)
    base = validate_block(_NodeTypeOnly, raw, path=path, document=document)
    try:
        node_class = registry.nodes.get(base.node_type)
    except ConfigError as exc:
        where = document.where((*path, "node_type")) if document else format_yaml_path(path)
        raise CompileError(f"{where}: {exc}") from None
    dialect = {"dialect": "sygra"} if in_sygra_file(document) else None
    config = validate_block(
        node_class.config_model, raw, path=path, document=document, context=dialect
    )
    try:
        node = node_class.build(name, config, env)
        hooks = _hook(config, "pre_process", env, name), _hook(config, "post_process", env, name)
    except ConfigError as exc:
        where = document.where(path) if document else format_yaml_path(path)
        raise CompileError(f"{where}: {exc}") from None
    return CompiledNode(
        name=name,
        node=node,
        node_type=base.node_type,
        pre_process=hooks[0],
        post_process=hooks[1],
        idle=config.node_state == "idle",
        timeout=config.timeout,
    )


def _missing_node_type(
    raw: Mapping[str, Any], path: YamlPath, document: YamlDocument | None
) -> None:
    import difflib

    close = difflib.get_close_matches("node_type", [str(k) for k in raw], n=1, cutoff=0.6)
    if close:
        key_path = (*path, close[0])
        where = document.where(key_path) if document else format_yaml_path(key_path)
        raise CompileError(f"{where}: unknown key {close[0]!r} (did you mean 'node_type'?)")
    where = document.where(path) if document else format_yaml_path(path)
    raise CompileError(
        f"{where}: required key `node_type` is missing; known node types: "
        f"{', '.join(registry.nodes.names())}"
    )


def _hook(config: Any, key: str, env: BuildEnv, name: str) -> UserCallable | None:
    spec: str | Callable[..., Any] | None = getattr(config, key, None)
    if spec is None:
        return None
    hook = load_callable(
        spec,
        env.task_dir,
        what=key.replace("_", "-") + " hook",
        run_in="thread" if getattr(config, "timeout", None) else "auto",  # a timeout cuts threads
        where=f"node {name!r}, {key}",
    )
    return pre_process_hook(hook, name) if key == "pre_process" else post_process_hook(hook, name)


class _NodeTypeOnly(NodeConfig):
    """Reads just `node_type` before the node type validates the whole block."""

    model_config = NodeConfig.model_config | {"extra": "ignore"}


def _check_parallel_writes(
    edges: tuple[Edge, ...],
    reach: Mapping[str, frozenset[str]],
    nodes: Mapping[str, CompiledNode],
    problems: _Problems,
) -> None:
    for pair in sorted(parallel_pairs(edges, reach), key=sorted):
        a, b = sorted(pair)
        if a not in nodes or b not in nodes:
            continue
        shared = set(nodes[a].node.output_keys) & set(nodes[b].node.output_keys) - APPEND_KEYS
        if shared:
            problems.add(
                (*_ROOT, "nodes", b),
                f"nodes {a!r} and {b!r} run in parallel and both write "
                f"{', '.join(sorted(map(repr, shared)))}; give them different output_keys",
            )
