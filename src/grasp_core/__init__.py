"""GraSP core: task config, graph compilation, the streaming engine, journal and CLI.

Names are imported lazily on first use so ``import grasp_core`` stays fast; the list
below is the whole public API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from grasp_core._lazy import lazy_exports

if TYPE_CHECKING:
    from grasp_core.api import run, run_task, run_task_async
    from grasp_core.config.task_file import Task
    from grasp_core.errors import (
        ClusterConnectionError,
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
        ShardFailedError,
        SinkError,
        SourceError,
    )
    from grasp_core.graph.builder import END, START, Graph
    from grasp_core.models.catalog import ModelCatalog, ModelSpec
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
    from grasp_core.registry import formats, nodes, register, sinks, sources, transforms
    from grasp_core.runs import RunOptions, RunResult, check_task
    from grasp_core.runs.preview import preview

__all__ = [
    "END",
    "START",
    "BuildEnv",
    "ClusterConnectionError",
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
    "ShardFailedError",
    "Sink",
    "SinkError",
    "Source",
    "SourceError",
    "SourceItem",
    "Task",
    "Transform",
    "TransformEnv",
    "check_task",
    "formats",
    "nodes",
    "preview",
    "register",
    "run",
    "run_task",
    "run_task_async",
    "sinks",
    "sources",
    "transforms",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "grasp_core.api": ["run", "run_task", "run_task_async"],
        "grasp_core.config.task_file": ["Task"],
        "grasp_core.errors": [
            "ClusterConnectionError",
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
            "ShardFailedError",
            "SinkError",
            "SourceError",
        ],
        "grasp_core.graph.builder": ["END", "START", "Graph"],
        "grasp_core.models.catalog": ["ModelCatalog", "ModelSpec"],
        "grasp_core.protocols": [
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
        "grasp_core.registry": ["formats", "nodes", "register", "sinks", "sources", "transforms"],
        "grasp_core.runs": ["RunOptions", "RunResult", "check_task"],
        "grasp_core.runs.preview": ["preview"],
    },
    __all__,
)
