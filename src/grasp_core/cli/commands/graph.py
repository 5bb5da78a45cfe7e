"""``grasp graph``: draw a task's graph as Mermaid, DOT, SVG or PNG."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grasp_core.cli.options import Commands

__all__ = ["add_command", "run_command"]


def add_command(commands: Commands) -> None:
    """Register ``grasp graph`` on the CLI's subcommands."""
    graph = commands.add_parser("graph", help="draw a task's graph (mermaid, dot, svg, png)")
    graph.add_argument(
        "task", type=Path, help="task file, or a folder holding task.yaml (or graph_config.yaml)"
    )
    graph.add_argument(
        "--format",
        choices=["mermaid", "dot", "svg", "png"],
        default="mermaid",
        help="mermaid needs nothing; svg and png need Graphviz (default: mermaid)",
    )
    graph.add_argument(
        "-o", "--output", type=Path, help="write here instead of standard output (png needs it)"
    )
    graph.add_argument("--models", type=Path, help="models file to check model names against")


def run_command(args: argparse.Namespace) -> int:
    """Compile the task (nothing is run or read) and write its picture."""
    import anyio

    from grasp_core.config.task_file import Task
    from grasp_core.errors import ConfigError
    from grasp_core.graph.picture import render_graph
    from grasp_core.models.catalog import catalog_for_checking
    from grasp_core.runs import check_task

    if args.format == "png" and args.output is None:
        raise ConfigError("--format png writes binary data: add --output FILE.png")
    task = Task.load(args.task)
    catalog = catalog_for_checking(args.models, task.task_dir)

    async def compiled() -> bytes:
        graph = await check_task(task, catalog)
        return render_graph(graph, args.format, title=task.name)

    picture = anyio.run(compiled)
    if args.output is None:
        sys.stdout.write(picture.decode("utf-8"))
    else:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_bytes(picture)
        print(f"{args.output}: {args.format} picture of {task.name}", file=sys.stderr)
    return 0
