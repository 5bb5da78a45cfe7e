"""What the CLI's commands share: exit codes, the subcommand table type, and the run
options built from flags."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from grasp_core.errors import ConfigError

if TYPE_CHECKING:
    from grasp_core.runs import RunOptions

__all__ = [
    "EXIT_BUDGET",
    "EXIT_CLUSTER",
    "EXIT_ERROR",
    "EXIT_FAILED_RECORDS",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_OUTPUT",
    "Commands",
    "add_cache_arguments",
    "add_dataset_arguments",
    "cache_options",
    "failure_budget",
    "run_options",
]

EXIT_OK, EXIT_FAILED_RECORDS, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_BUDGET = 3
"""The run reached --max-cost or --max-tokens; `--resume` with a higher cap continues."""
EXIT_OUTPUT = 4
"""The output could not be written (a full disk, a read-only folder); what was committed is
kept: free space or fix the folder, then `--resume` continues."""
EXIT_CLUSTER = 5
"""`--executor ray` could not join the Ray cluster (nothing answers at the address, it refused
our auth token) or start a local one; nothing ran."""

Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""The ``grasp`` parser's subcommands, where each command module adds its own parser."""


def failure_budget(value: float | None) -> float | int | None:
    """``--allowed-failures``: a count (1 and up, kept whole) or a fraction below 1."""
    if value is None:
        return None
    if not 0 <= value < float("inf"):
        raise ConfigError(
            f"--allowed-failures must be a count or a fraction below 1, got {value!r}"
        )
    return int(value) if value >= 1 else value


def run_options(args: argparse.Namespace, **more: Any) -> RunOptions:
    """The options every running command shares (records, models, mock, resume, window,
    failure budget, signals), from its parsed flags, plus the command's own."""
    from grasp_core.runs import RunOptions

    return RunOptions(
        num_records=args.num_records,
        start_index=args.start_index,
        models=args.models,
        mock=args.mock_url or args.mock,
        resume=args.resume,
        overwrite=args.overwrite,
        window=args.window,
        allowed_failures=failure_budget(args.allowed_failures),
        handle_signals=True,
        hints="cli",
        **more,
    )


def add_dataset_arguments(cmd: argparse.ArgumentParser, *, output_help: str) -> None:
    """INPUT (or ``--source JSON``), ``--output`` and ``--output-format`` of a command."""
    cmd.add_argument("input", nargs="?", type=Path, help="a JSONL, JSON, CSV or Parquet file")
    cmd.add_argument(
        "--source",
        metavar="JSON",
        help='any source block instead of INPUT: \'{"type": "hf", "repo_id": "org/name"}\'',
    )
    cmd.add_argument("--output", "-o", type=Path, required=True, help=output_help)
    cmd.add_argument(
        "--output-format",
        choices=["csv", "json", "jsonl", "parquet"],
        help="default: from the output's suffix",
    )


def add_cache_arguments(cmd: argparse.ArgumentParser, *, refresh: bool) -> None:
    """The response cache's flags (``--refresh-cache`` too when ``refresh``); they win over
    the models file's ``cache:`` block."""
    cmd.add_argument(
        "--no-cache",
        action="store_true",
        help="neither answer calls from the response cache nor store replies in it",
    )
    if refresh:
        cmd.add_argument(
            "--refresh-cache",
            action="store_true",
            help="call the backend for every request and overwrite the cached replies",
        )
    cmd.add_argument(
        "--cache-dir",
        type=Path,
        metavar="DIR",
        help="the response cache's folder (default: the models file's cache.dir, else "
        "~/.cache/grasp/responses)",
    )
    cmd.add_argument(
        "--cache-max-mb",
        type=int,
        metavar="MB",
        help="the cache's size limit in MiB; the oldest replies go beyond it (default: the "
        "models file's cache.max_mb, else 2048)",
    )


def cache_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ``RunOptions`` fields of :func:`add_cache_arguments`' flags."""
    return {
        "cache": not args.no_cache,
        "refresh_cache": getattr(args, "refresh_cache", False),
        "cache_dir": args.cache_dir,
        "cache_max_mb": args.cache_max_mb,
    }
