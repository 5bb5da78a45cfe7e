"""structlog setup: bound context (run_id, record_id, node); JSON lines off a terminal."""

from __future__ import annotations

import logging
import sys
from typing import Any, Literal

import structlog

__all__ = ["configure_logging", "default_logging", "get_logger"]


def get_logger(name: str) -> Any:
    """A structlog logger for ``name``; configuration is the application's choice."""
    return structlog.get_logger(name)


def default_logging() -> None:
    """Warnings and errors only, unless the application configured structlog itself: a
    library run should not print every info line to the caller's terminal."""
    if not structlog.is_configured():
        configure_logging(level="warning")


def configure_logging(
    *, level: str = "warning", fmt: Literal["auto", "json", "console"] = "auto"
) -> None:
    """Configure structlog for the CLI: console on a terminal, JSON lines otherwise."""
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=_current_stderr,
        cache_logger_on_first_use=False,
    )


def _current_stderr(*_args: Any) -> structlog.PrintLogger:
    """A logger on whatever ``sys.stderr`` is when a message is logged, not the stream of
    the moment logging was configured (which a test runner or notebook may have closed)."""
    return structlog.PrintLogger(file=sys.stderr)
