"""Build graphs in Python: the same ``graph_config`` a YAML task holds, checked as you go.

    graph = (
        Graph(recursion_limit=10)
        .add_node("generate", "llm", prompt=[{"user": "{task}"}], model={"name": "m"},
                  output_keys="solution")
        .add_node("check", "lambda", **{"lambda": check}, output_keys="ok")
        .add_edge(START, "generate")
        .add_edge("generate", "check")
        .add_conditional_edge("check", route, {"done": END, "again": "generate"})
    )
    task = graph.to_task(data_config={"source": {...}}, task_dir=".")

Callables may stand wherever YAML has a dotted path; ``to_yaml`` writes module-level
functions and classes back as dotted paths. A function of the script being run
(``__main__``) has none a task file could import (importing the script would run it again),
so ``to_yaml`` asks for it to be moved into a module.
"""

from __future__ import annotations

import copy
import inspect
import io
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from grasp_core import registry
from grasp_core.config import EdgeConfig, GraphConfig, GraphProperties, validate_block
from grasp_core.config.dotted import resolve_dotted
from grasp_core.config.task_file import Task
from grasp_core.config.yaml_source import load_yaml, parse_yaml
from grasp_core.errors import ConfigError
from grasp_core.graph.compiled import END, START

__all__ = ["END", "START", "Graph"]


class Graph:
    """A graph under construction. Every method returns the graph, so calls chain."""

    def __init__(
        self,
        *,
        chat_conversation: str = "singleturn",
        chat_history_window_size: int = 5,
        recursion_limit: int = 25,
    ) -> None:
        props = GraphProperties.model_validate(
            {
                "chat_conversation": chat_conversation,
                "chat_history_window_size": chat_history_window_size,
                "recursion_limit": recursion_limit,
            }
        )
        self._props = props.model_dump()
        self._nodes: dict[str, dict[str, Any]] = {}
        self._edges: list[dict[str, Any]] = []

    def add_node(self, name: str, node_type: str, **config: Any) -> Graph:
        """Add a node; its config is validated now by its node type's model."""
        if name in self._nodes:
            raise ConfigError(f"node {name!r} is already in the graph; pick another name")
        if name in (START, END):
            raise ConfigError(f"{name!r} is implicit and cannot be a node name")
        block = {"node_type": node_type, **config}
        model = registry.nodes.get(node_type).config_model
        validate_block(model, block, path=("graph_config", "nodes", name), document=None)
        self._nodes[name] = block
        return self

    def add_edge(self, source: str, target: str) -> Graph:
        """A simple edge: ``target`` runs after ``source``."""
        return self._edge({"from": source, "to": target})

    def add_conditional_edge(
        self, source: str, condition: str | Callable[..., Any], path_map: Mapping[str, str]
    ) -> Graph:
        """Route by the label ``condition(state)`` returns, through ``path_map``."""
        return self._edge({"from": source, "condition": condition, "path_map": dict(path_map)})

    def _edge(self, edge: dict[str, Any]) -> Graph:
        path = ("graph_config", "edges", len(self._edges))
        validate_block(EdgeConfig, edge, path=path, document=None)
        self._edges.append(edge)
        return self

    def to_graph_config(self) -> dict[str, Any]:
        """The ``graph_config`` mapping, as a YAML task would hold it."""
        return copy.deepcopy({**self._props, "nodes": self._nodes, "edges": self._edges})

    def to_task(
        self,
        *,
        data_config: Mapping[str, Any] | None = None,
        output_config: Mapping[str, Any] | None = None,
        schema_config: Mapping[str, Any] | None = None,
        post_process: Sequence[Any] | None = None,
        task_dir: str | Path = ".",
        name: str | None = None,
    ) -> Task:
        """A task around this graph, ready for ``run_task``. Without ``name`` it is named
        after its content (``task-`` and 8 hex digits; see :meth:`Task.from_dict`), which
        names its files when ``data_config`` has no sink: ``output/NAME.jsonl`` under
        ``task_dir``, or under ``RunOptions(output_dir=...)``. ``post_process`` lists the
        steps run over the finished output (``[{"dedup": {"fields": ["answer"]}}]``)."""
        data: dict[str, Any] = {"graph_config": self.to_graph_config()}
        for key, block in (
            ("data_config", data_config),
            ("output_config", output_config),
            ("schema_config", schema_config),
        ):
            if block is not None:
                data[key] = dict(block)
        if post_process is not None:
            data["post_process"] = list(post_process)
        return Task.from_dict(data, task_dir=task_dir, name=name)

    def to_yaml(self) -> str:
        """YAML text of the graph; callables become dotted paths (module-level ones only)."""
        from ruamel.yaml import YAML

        data = {"graph_config": _dotted(self.to_graph_config(), "graph_config")}
        yaml = YAML()
        yaml.default_flow_style = False
        buffer = io.StringIO()
        yaml.dump(data, buffer)
        return buffer.getvalue()

    @classmethod
    def from_yaml(cls, source: str | Path) -> Graph:
        """A graph from YAML text or a file (a task file, or just its ``graph_config``)."""
        is_file = isinstance(source, Path) or (
            "\n" not in source and source.endswith((".yaml", ".yml"))
        )
        document = load_yaml(Path(source)) if is_file else parse_yaml(str(source))
        data = document.data or {}
        raw = data.get("graph_config", data)
        config = validate_block(GraphConfig, raw, path=("graph_config",), document=document)
        return cls.from_graph_config(config)

    @classmethod
    def from_graph_config(cls, config: GraphConfig | Mapping[str, Any]) -> Graph:
        """A graph from a validated (or raw) ``graph_config``."""
        if not isinstance(config, GraphConfig):
            config = validate_block(
                GraphConfig, dict(config), path=("graph_config",), document=None
            )
        props = config.properties()
        graph = cls(
            chat_conversation=props.chat_conversation,
            chat_history_window_size=props.chat_history_window_size,
            recursion_limit=props.recursion_limit,
        )
        for name, block in config.nodes.items():
            graph.add_node(name, **block)
        for edge in config.edges:
            if edge.condition is not None:
                graph.add_conditional_edge(edge.from_, edge.condition, edge.path_map or {})
            else:
                assert edge.to is not None
                graph.add_edge(edge.from_, edge.to)
        return graph


def _dotted(value: Any, where: str) -> Any:
    """``value`` with callables as their dotted paths, and a subgraph node's builder graph
    (``graph: Graph``) written inline as its ``graph_config``."""
    if isinstance(value, dict):
        if isinstance(value.get("graph"), Graph):
            inline = {k: v for k, v in value.items() if k != "graph"}
            inline["graph_config"] = value["graph"].to_graph_config()
            value = inline
        return {k: _dotted(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, Graph):
        raise ConfigError(
            f"{where}: a builder Graph can only be written as a subgraph's `graph`; "
            "pass its to_graph_config() instead"
        )
    if isinstance(value, list):
        return [_dotted(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if callable(value) and not isinstance(value, str):
        return _dotted_path(value, where)
    return value


def _dotted_path(value: Callable[..., Any], where: str) -> str:
    """The dotted path that imports back to ``value``, or an error saying what to do."""
    module = getattr(value, "__module__", None)
    qualname = getattr(value, "__qualname__", "")
    plain = inspect.isfunction(value) or inspect.isclass(value)
    if plain and module == "__main__" and "<" not in qualname:
        # Naming the script as a module would run the whole script again on import.
        raise ConfigError(
            f"{where}: {qualname!r} is defined in the script being run (__main__), which a "
            "task file cannot import; move it into a module beside the task (such as "
            f"steps.py) and import it from there, so the YAML names it 'steps.{qualname}' "
            "(graph.to_task() needs no YAML and runs it as it is)"
        )
    if not plain or not module or "<" in qualname:
        raise ConfigError(
            f"{where}: {qualname or value!r} has no importable dotted path (a lambda, a "
            "nested function, a bound method, a partial or an instance); use a module-level "
            "function or class to write YAML"
        )
    path = f"{module}.{qualname}"
    try:
        same = resolve_dotted(path, None) is value
    except ConfigError:
        same = False
    if not same:
        raise ConfigError(f"{where}: {path!r} does not import back to the same object")
    return path
