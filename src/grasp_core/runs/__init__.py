"""Running a task on this machine (named ``runs`` so that ``grasp_core.run``, the one-call
API function, is never shadowed by a subpackage): its options (``options``), where its files go
(``layout``), the lock, how its parts are built (``parts``), the local run itself
(``local``), its result and summary, ``check_task``, the seams executors adapt
(``hooks``), ``preview`` (a few records shown node by node, with ``estimate``, the full
run's size and cost), the commands over finished datasets (``filtering``, ``dataset_files``,
quality wiring in ``quality``), and reading a finished run back (``run_files``,
``output_table`` over ``row_stores``, ``record_trace``, ``failure_groups``, ``retry``,
``compare``, ``annotations``: what GraSP Studio shows). Executors build on this package; it
imports none of them."""

from grasp_core.runs.catalog import catalog_for, graph_models, mock_server_for
from grasp_core.runs.checks import check_task
from grasp_core.runs.hooks import RunHooks
from grasp_core.runs.layout import READABLE_FORMATS, RunLayout
from grasp_core.runs.local import TaskRun, monitor_for
from grasp_core.runs.lock import RunLock
from grasp_core.runs.options import RunOptions
from grasp_core.runs.parts import TaskParts, load_task
from grasp_core.runs.result import RunResult
from grasp_core.runs.summary import write_summary

__all__ = [
    "READABLE_FORMATS",
    "RunHooks",
    "RunLayout",
    "RunLock",
    "RunOptions",
    "RunResult",
    "TaskParts",
    "TaskRun",
    "catalog_for",
    "check_task",
    "graph_models",
    "load_task",
    "mock_server_for",
    "monitor_for",
    "write_summary",
]
