"""``grasp validate``: compile a task and check everything but its data, including that
each model it uses has its API key available (unless the run will use the mock)."""

from __future__ import annotations

import argparse
from pathlib import Path

from grasp_core.cli.options import EXIT_OK, Commands

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
    """Check the task; a problem raises (the CLI prints it as one line)."""
    import anyio

    from grasp_core.config.task_file import Task
    from grasp_core.models.catalog import catalog_for_checking
    from grasp_core.runs import check_task

    task = Task.load(args.task)
    catalog = catalog_for_checking(args.models, task.task_dir, check_keys=not args.mock)

    async def check() -> int:
        graph = await check_task(task, catalog)
        print(f"{args.task}: ok ({len(graph.nodes)} nodes, {len(graph.edges)} edges)")
        return EXIT_OK

    return anyio.run(check)
