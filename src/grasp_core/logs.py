"""structlog setup: bound context (run_id, record_id, node); JSON lines off a terminal."""

from __future__ import annotations

import logging
import sys
from typing import Any, Literal

import structlog

__all__ = ["configure_logging", "get_logger"]


def get_logger(name: str) -> Any:
    """A structlog logger for ``name``; configuration is the application's choice."""
    return structlog.get_logger(name)


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
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
