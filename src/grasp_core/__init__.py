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
        MissingDependencyError,
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
    from grasp_core.protocols import (
        BuildEnv,
        Node,
        NodeContext,
        RecordFormat,
        Sink,
        Source,
        SourceItem,
        Transform,
        TransformEnv,
    )
    from grasp_core.registry import formats, nodes, sinks, sources, transforms
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
    "MissingDependencyError",
    "ModelCallError",
    "ModelCatalog",
    "ModelSpec",
    "Node",
    "NodeContext",
    "NodeError",
    "PluginError",
    "RecordError",
    "RecordFormat",
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
    "Transform",
    "TransformEnv",
    "formats",
    "nodes",
    "run",
    "run_task",
    "run_task_async",
    "sinks",
    "sources",
    "transforms",
]

_HOME = {
    **dict.fromkeys(
        [
            "CompileError",
            "ConfigError",
            "GraspError",
            "MissingDependencyError",
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
        [
            "BuildEnv",
            "Node",
            "NodeContext",
            "RecordFormat",
            "Sink",
            "Source",
            "SourceItem",
            "Transform",
            "TransformEnv",
        ],
        "grasp_core.protocols",
    ),
    **dict.fromkeys(["formats", "nodes", "sinks", "sources", "transforms"], "grasp_core.registry"),
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
