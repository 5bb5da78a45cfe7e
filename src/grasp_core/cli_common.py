"""Option parsing shared by the CLI's commands."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from grasp_core.errors import ConfigError

if TYPE_CHECKING:
    from grasp_core.runner import RunOptions

__all__ = ["failure_budget", "run_options"]


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
    from grasp_core.runner import RunOptions

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
        **more,
    )
