"""How quality tagging joins a run, without the core importing the tagger.

``output_config.data_quality`` (or ``grasp run --quality``) appends one node of the registered
type ``quality`` to the graph: every edge into ``END`` goes to it instead, and it goes to
``END``. Its tags land in the state under ``data_quality.output_key`` (``quality``), and an
``output_map`` gets that field added, so each output record carries them. The node's runs,
judge calls included, are journaled like any other node's, so resume works unchanged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from grasp_core.config import (
    EdgeConfig,
    GraphConfig,
    OutputConfig,
    OutputField,
    TaskConfig,
    validate_block,
)
from grasp_core.config.locate import located
from grasp_core.config.quality import QUALITY_TASKS
from grasp_core.config.task_file import Task
from grasp_core.config.yaml_source import YamlDocument
from grasp_core.errors import ConfigError
from grasp_core.graph.compiled import END

__all__ = [
    "QUALITY_NODE",
    "QUALITY_NODE_TYPE",
    "TaggedRecord",
    "graph_with_quality",
    "output_with_quality",
    "parse_tasks",
    "with_quality_tasks",
]

QUALITY_NODE = "data_quality"
"""Name of the node appended to a run's graph (its judge calls journal as `data_quality.*`)."""
QUALITY_NODE_TYPE = "quality"
"""The registered node type that tags records (entry point group `grasp.nodes`)."""


def parse_tasks(values: str | Iterable[str]) -> tuple[str, ...]:
    """Quality task names from ``heuristics,judge`` (or several such strings), checked."""
    items = [values] if isinstance(values, str) else list(values)
    tasks = [t.strip() for item in items for t in item.split(",") if t.strip()]
    unknown = [t for t in tasks if t not in QUALITY_TASKS]
    if unknown or not tasks:
        raise ConfigError(
            f"unknown quality task(s) {', '.join(map(repr, unknown)) or 'none given'}; "
            f"choose from {', '.join(QUALITY_TASKS)} (comma-separated: heuristics,judge)"
        )
    return tuple(dict.fromkeys(tasks))


def with_quality_tasks(task: Task, tasks: str | Iterable[str] | None) -> Task:
    """``task`` with ``output_config.data_quality.tasks`` set to ``tasks`` (its other
    ``data_quality`` options kept). The task's fingerprint changes, so a resume that adds
    or drops ``--quality`` is refused unless forced."""
    if not tasks:
        return task
    chosen = list(parse_tasks(tasks))
    data = dict(task.data)
    output = dict(data.get("output_config") or {})
    quality = dict(output.get("data_quality") or {})
    quality["tasks"] = chosen
    output["data_quality"] = quality
    data["output_config"] = output
    config = validate_block(TaskConfig, data, path=(), document=task.document)
    return dataclasses.replace(task, config=config, data=data)


def graph_with_quality(config: TaskConfig, document: YamlDocument | None = None) -> GraphConfig:
    """The task's graph, with the ``quality`` node before ``END`` when the task asks for
    quality tags (errors located in ``document``)."""
    graph = config.graph_config
    quality = config.output_config.data_quality if config.output_config is not None else None
    if quality is None:
        return graph
    if QUALITY_NODE in graph.nodes:
        with located(document, ("graph_config", "nodes", QUALITY_NODE)):
            raise ConfigError(
                f"graph_config.nodes.{QUALITY_NODE}: this name is taken by the quality tagger "
                "that output_config.data_quality appends; rename the node"
            )
    node: dict[str, Any] = {"node_type": QUALITY_NODE_TYPE, **quality.model_dump()}
    edges = [_into_quality(edge) for edge in graph.edges]
    edges.append(EdgeConfig.model_validate({"from": QUALITY_NODE, "to": END}))
    return graph.model_copy(update={"nodes": {**graph.nodes, QUALITY_NODE: node}, "edges": edges})


def _into_quality(edge: EdgeConfig) -> EdgeConfig:
    if edge.to == END:
        return edge.model_copy(update={"to": QUALITY_NODE})
    if edge.path_map is not None and END in edge.path_map.values():
        path_map = {label: QUALITY_NODE if t == END else t for label, t in edge.path_map.items()}
        return edge.model_copy(update={"path_map": path_map})
    return edge


def output_with_quality(config: OutputConfig | None) -> OutputConfig | None:
    """``config`` whose ``output_map`` (if any) also writes the quality key. Without an
    ``output_map`` every state key is written, the tags included; a ``generator`` that
    builds records itself should copy ``state["quality"]``."""
    if config is None or config.data_quality is None or config.output_map is None:
        return config
    key = config.data_quality.output_key
    if key in config.output_map:
        return config
    field = OutputField.model_validate({"from": key})
    return config.model_copy(update={"output_map": {**config.output_map, key: field}})


class TaggedRecord:
    """Output generator of ``grasp tag``: the input record with its tags, nothing added
    (no ``id`` column, unlike the default output of a task without ``output_map``)."""

    def generate(self, state: Mapping[str, Any]) -> dict[str, Any]:
        return dict(state)
