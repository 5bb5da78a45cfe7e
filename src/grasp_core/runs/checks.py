"""``check_task``: what ``grasp validate`` checks, and every executor before its first call."""

from __future__ import annotations

from grasp_core.config.task_file import Task
from grasp_core.graph.compiled import CompiledGraph
from grasp_core.models.catalog import ModelCatalog
from grasp_core.runs.options import RunOptions
from grasp_core.runs.parts import TaskParts
from grasp_core.runs.preflight import check_before_calls
from grasp_core.runs.sink_suffixes import warn_on_sink_suffixes

__all__ = ["check_task"]


async def check_task(
    task: Task, catalog: ModelCatalog, options: RunOptions | None = None
) -> CompiledGraph:
    """Check the graph, the source and sink configs, the output map and the schema (type
    names, rules), the keys nodes read and the row format (``options``' flags included),
    and return the compiled graph. Only the first records are read; nothing is written."""
    parts = TaskParts(task, options or RunOptions(), catalog)
    graph, _shaper, _validator = parts.compile(parts.build_env())
    parts.row_mapper()
    if task.config.data_config.source is not None:
        parts.source()
    parts.sinks()
    warn_on_sink_suffixes(task)
    await check_before_calls(parts, graph)
    return graph
