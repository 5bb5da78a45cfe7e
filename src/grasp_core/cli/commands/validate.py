"""``grasp validate``: compile a task and check everything but its data, including that
each model it uses has its API key available (unless the run will use the mock)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from grasp_core.cli.options import EXIT_OK, Commands

if TYPE_CHECKING:
    from grasp_core.errors import GraspError

__all__ = ["add_command", "run_command"]


def add_command(commands: Commands) -> None:
    """Register ``grasp validate``."""
    validate = commands.add_parser("validate", help="check a task file and compile its graph")
    validate.add_argument(
        "task", type=Path, help="task file, or a folder holding task.yaml (or graph_config.yaml)"
    )
    validate.add_argument("--models", type=Path, help="models file to check model names against")
    validate.add_argument(
        "--mock",
        action="store_true",
        help="check for a run with --mock: the models' API keys are not needed",
    )


def run_command(args: argparse.Namespace) -> int:
    """Check the task; when it fails, every problem found is printed, one line each."""
    import anyio

    from grasp_core.errors import GraspError

    async def check() -> int:
        from grasp_core.config.task_file import Task
        from grasp_core.models.catalog import catalog_for_checking
        from grasp_core.runs import check_task

        task = Task.load(args.task)
        catalog = catalog_for_checking(args.models, task.task_dir, check_keys=not args.mock)
        graph = await check_task(task, catalog)
        print(f"{args.task}: ok ({len(graph.nodes)} nodes, {len(graph.edges)} edges)")
        return EXIT_OK

    try:
        return anyio.run(check)
    except GraspError as first:
        raise _every_problem(args) or first from None


def _every_problem(args: argparse.Namespace) -> GraspError | None:
    """The task's problems in one error, a line each, when there is more than the first
    (the check above stops at the first part that fails; ``task_problems`` checks each)."""
    import anyio

    from grasp_core.errors import GraspError
    from grasp_core.runs.problems import task_problems

    try:
        problems = anyio.run(lambda: task_problems(args.task, models=args.models, mock=args.mock))
    except GraspError:
        return None
    if len(problems) < 2:
        return None
    return GraspError("\n".join(map(str, problems)))
