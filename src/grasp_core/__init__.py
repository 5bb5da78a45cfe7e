"""GraSP core: task config, graph compilation, the streaming engine, journal and CLI.

Names are imported lazily on first use so ``import grasp_core`` stays fast; the list
below is the whole public API.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grasp_core.api import run
    from grasp_core.builder import END, START, Graph
    from grasp_core.errors import (
        CompileError,
        ConfigError,
        GraspError,
        ModelCallError,
        NodeError,
        PluginError,
        RecordError,
        ResumeError,
        RetryableModelError,
        SinkError,
        SourceError,
    )
    from grasp_core.models_file import ModelCatalog, ModelSpec
    from grasp_core.protocols import BuildEnv, Node, NodeContext, Sink, Source, SourceItem
    from grasp_core.registry import nodes, sinks, sources
    from grasp_core.runner import RunOptions, RunResult, run_task, run_task_async
    from grasp_core.task import Task

__all__ = [
    "END",
    "START",
    "BuildEnv",
    "CompileError",
    "ConfigError",
    "Graph",
    "GraspError",
    "ModelCallError",
    "ModelCatalog",
    "ModelSpec",
    "Node",
    "NodeContext",
    "NodeError",
    "PluginError",
    "RecordError",
    "ResumeError",
    "RetryableModelError",
    "RunOptions",
    "RunResult",
    "Sink",
    "SinkError",
    "Source",
    "SourceError",
    "SourceItem",
    "Task",
    "nodes",
    "run",
    "run_task",
    "run_task_async",
    "sinks",
    "sources",
]

_HOME = {
    **dict.fromkeys(
        [
            "CompileError",
            "ConfigError",
            "GraspError",
            "ModelCallError",
            "NodeError",
            "PluginError",
            "RecordError",
            "ResumeError",
            "RetryableModelError",
            "SinkError",
            "SourceError",
        ],
        "grasp_core.errors",
    ),
    **dict.fromkeys(["ModelCatalog", "ModelSpec"], "grasp_core.models_file"),
    **dict.fromkeys(
        ["BuildEnv", "Node", "NodeContext", "Sink", "Source", "SourceItem"], "grasp_core.protocols"
    ),
    **dict.fromkeys(["nodes", "sinks", "sources"], "grasp_core.registry"),
    **dict.fromkeys(["RunOptions", "RunResult", "run_task", "run_task_async"], "grasp_core.runner"),
    "Task": "grasp_core.task",
    "run": "grasp_core.api",
    **dict.fromkeys(["END", "START", "Graph"], "grasp_core.builder"),
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'grasp_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
