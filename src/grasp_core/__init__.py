"""GraSP core: task config, graph compilation, the streaming engine, journal and CLI.

Names are imported lazily on first use so ``import grasp_core`` stays fast; the list
below is the whole public API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from grasp_core._lazy import lazy_exports

if TYPE_CHECKING:
    from grasp_core.api import run, run_task, run_task_async
    from grasp_core.config.data_root import DATA_ROOT_ENV, confine_data_path
    from grasp_core.config.dotted import CODE_ROOT_ENV, task_code_refused
    from grasp_core.config.task_file import Task
    from grasp_core.config.yaml_source import bounded_yaml
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
    from grasp_core.logs import mask_secrets
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
    from grasp_core.runs.annotations import annotate, annotations_beside, read_annotations
    from grasp_core.runs.compare import RunComparison, compare_runs, run_metrics
    from grasp_core.runs.failure_groups import FailureGroup, failure_groups
    from grasp_core.runs.output_table import OutputTable, TablePage
    from grasp_core.runs.preview import preview
    from grasp_core.runs.problems import TaskProblem, task_problems
    from grasp_core.runs.record_trace import RecordTrace, record_trace
    from grasp_core.runs.retry import retry_dir, retry_failures
    from grasp_core.runs.run_files import RunFiles, find_runs
    from grasp_core.runs.sampling import first_records
    from grasp_core.runs.watch import RunStatus, run_status

__all__ = [
    "CODE_ROOT_ENV",
    "DATA_ROOT_ENV",
    "END",
    "START",
    "BuildEnv",
    "ClusterConnectionError",
    "CompileError",
    "ConfigError",
    "FailureGroup",
    "Graph",
    "GraspError",
    "MissingDependencyError",
    "ModelCallError",
    "ModelCatalog",
    "ModelSpec",
    "Node",
    "NodeContext",
    "NodeError",
    "OutputTable",
    "PluginError",
    "RecordError",
    "RecordFormat",
    "RecordTrace",
    "ResumeError",
    "RetryableModelError",
    "RunComparison",
    "RunFiles",
    "RunOptions",
    "RunResult",
    "RunStatus",
    "ShardFailedError",
    "Sink",
    "SinkError",
    "Source",
    "SourceError",
    "SourceItem",
    "TablePage",
    "Task",
    "TaskProblem",
    "Transform",
    "TransformEnv",
    "annotate",
    "annotations_beside",
    "bounded_yaml",
    "check_task",
    "compare_runs",
    "confine_data_path",
    "failure_groups",
    "find_runs",
    "first_records",
    "formats",
    "mask_secrets",
    "nodes",
    "preview",
    "read_annotations",
    "record_trace",
    "register",
    "retry_dir",
    "retry_failures",
    "run",
    "run_metrics",
    "run_status",
    "run_task",
    "run_task_async",
    "sinks",
    "sources",
    "task_code_refused",
    "task_problems",
    "transforms",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "grasp_core.api": ["run", "run_task", "run_task_async"],
        "grasp_core.config.data_root": ["DATA_ROOT_ENV", "confine_data_path"],
        "grasp_core.config.dotted": ["CODE_ROOT_ENV", "task_code_refused"],
        "grasp_core.config.task_file": ["Task"],
        "grasp_core.config.yaml_source": ["bounded_yaml"],
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
        "grasp_core.logs": ["mask_secrets"],
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
        "grasp_core.runs.annotations": ["annotate", "annotations_beside", "read_annotations"],
        "grasp_core.runs.compare": ["RunComparison", "compare_runs", "run_metrics"],
        "grasp_core.runs.failure_groups": ["FailureGroup", "failure_groups"],
        "grasp_core.runs.output_table": ["OutputTable", "TablePage"],
        "grasp_core.runs.preview": ["preview"],
        "grasp_core.runs.problems": ["TaskProblem", "task_problems"],
        "grasp_core.runs.sampling": ["first_records"],
        "grasp_core.runs.watch": ["RunStatus", "run_status"],
        "grasp_core.runs.record_trace": ["RecordTrace", "record_trace"],
        "grasp_core.runs.retry": ["retry_dir", "retry_failures"],
        "grasp_core.runs.run_files": ["RunFiles", "find_runs"],
    },
    __all__,
)
