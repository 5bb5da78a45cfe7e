"""``grasp convert sygra SRC DEST``: SyGra task folders as GraSP task folders, each converted
task checked as ``grasp validate --mock`` would, and a report of what was not converted."""

from __future__ import annotations

import argparse
from pathlib import Path

from grasp_core.cli.options import EXIT_FAILED_RECORDS, EXIT_OK, Commands

__all__ = ["add_command", "run_command"]


def add_command(commands: Commands) -> None:
    """Register ``grasp convert``."""
    convert = commands.add_parser("convert", help="convert tasks written for another tool")
    convert.add_argument("dialect", choices=["sygra"], help="the tool the tasks come from")
    convert.add_argument("src", type=Path, help="a SyGra task folder, or a tree of them")
    convert.add_argument("dest", type=Path, help="where the GraSP task folders go")
    convert.add_argument(
        "--models", type=Path, help="SyGra's models.yaml, copied beside each converted task"
    )
    convert.add_argument(
        "--overwrite", action="store_true", help="write into DEST even if it is not empty"
    )


def run_command(args: argparse.Namespace) -> int:
    """Convert, check each converted task, print and write the report; exit 1 when the
    report lists anything not converted."""
    from grasp_core.config.sygra_convert import convert_sygra_tree
    from grasp_core.errors import ConfigError

    src, dest = args.src, args.dest
    if not src.is_dir():
        raise ConfigError(f"{src}: not a folder; give a SyGra task folder or a tasks/ tree")
    if dest.resolve().is_relative_to(src.resolve()):
        raise ConfigError(f"{dest}: inside the source folder {src}; choose a folder outside it")
    if dest.exists() and any(dest.iterdir()) and not args.overwrite:
        raise ConfigError(
            f"{dest}: not empty; choose an empty folder, or pass --overwrite to convert into it"
        )
    conversion = convert_sygra_tree(src, dest, models=args.models, node_fields=_node_fields)
    for task in list(conversion.tasks):
        problem = _check(dest / task)
        if problem is not None:
            conversion.problems.append(
                f"{(task / 'task.yaml').as_posix()}: does not validate: {problem}"
            )
    report = conversion.report()
    (dest / "CONVERT_REPORT.md").write_text(report, encoding="utf-8")
    print(report, end="")
    return EXIT_OK if not conversion.problems else EXIT_FAILED_RECORDS


def _node_fields(node_type: str) -> frozenset[str] | None:
    """The keys a node type's config model knows (its YAML aliases), through the registry."""
    from grasp_core.errors import GraspError
    from grasp_core.registry import nodes

    try:
        model = nodes.get(node_type).config_model
    except GraspError:
        return None
    return frozenset(f.alias or name for name, f in model.model_fields.items())


def _check(task_dir: Path) -> str | None:
    """``grasp validate --mock`` on one converted task: None when it passes."""
    import anyio

    from grasp_core.config.task_file import Task
    from grasp_core.errors import GraspError
    from grasp_core.models.catalog import catalog_for_checking
    from grasp_core.runs import check_task

    try:
        task = Task.load(task_dir)
        catalog = catalog_for_checking(None, task.task_dir, check_keys=False)
        anyio.run(check_task, task, catalog)
    except GraspError as exc:
        return str(exc)
    return None
