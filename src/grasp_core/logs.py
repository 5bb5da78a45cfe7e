"""structlog setup: bound context (run_id, record_id, node); JSON lines off a terminal.

Also what may leave the process: :func:`redact` masks every secret GraSP knows (the API
keys the models file resolved, Hugging Face tokens: see :func:`register_secret`) and
anything shaped like a credential (``Bearer …``, ``sk-…``, ``hf_…``, ``api_key=…``,
``Authorization: …``) in a text before it is logged, printed or stored. A server that
echoes the request's key in its error body is the case this exists for.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from typing import Any, Literal

import structlog

__all__ = [
    "configure_logging",
    "default_logging",
    "get_logger",
    "mask_secrets",
    "redact",
    "register_secret",
]

MASK = "<redacted>"
_MIN_SECRET_LENGTH = 8
"""Shorter values (a local server's dummy key such as ``none``) are not masked: masking
them would garble every text that happens to contain the word."""
_CREDENTIAL_SHAPES = (
    # a header or option naming a key: the value after `:` or `=`, quoted or not
    re.compile(
        r"""(?i)((?:x-)?api[-_]?key["']?\s*[:=]\s*["']?|authorization["']?\s*[:=]\s*["']?"""
        r"""(?:bearer\s+|basic\s+)?)[^\s"',;&}]{8,}"""
    ),
    re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"()(?<![A-Za-z0-9_-])(?:sk-[A-Za-z0-9_-]{8,}|hf_[A-Za-z0-9]{16,})"),
    # the password of a URL's user info: https://user:<redacted>@host
    re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^\s/?#@:]*:)[^\s/?#@]+(?=@)"),
)
_SECRET_KEY = re.compile(r"(?i)(?:api[-_]?key|authori[sz]ation|password|passwd|secret|token)$")
"""A mapping key whose value is a credential (a header under `parameters.extra_headers`,
a password option): the value is masked whatever its shape. `api_key_env`, `token_env`
and `api_key_file` name where a key is, not the key, and are kept."""
_secrets: tuple[str, ...] = ()
"""Known secrets, longest first (a key containing another is masked whole)."""


def register_secret(value: str | None) -> None:
    """Mask ``value`` in every text :func:`redact` sees from now on, in this process.

    Called where a secret is resolved (a model's API key, a Hugging Face token)."""
    global _secrets
    if value and len(value) >= _MIN_SECRET_LENGTH and value not in _secrets:
        _secrets = tuple(sorted({*_secrets, value}, key=len, reverse=True))


def redact(text: str) -> str:
    """``text`` with every registered secret and every credential-shaped string masked."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    for shape in _CREDENTIAL_SHAPES:
        text = shape.sub(lambda match: match.group(1) + MASK, text)
    return text


def mask_secrets(value: Any) -> Any:
    """``value`` (plain data: mappings, lists, scalars) with every text :func:`redact`-ed
    and the value of every credential-named key (``api_key``, ``Authorization``,
    ``password``, ``token``...) masked whatever its shape: what may be shown or stored of
    a task or a models file."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {
            key: MASK if _SECRET_KEY.search(str(key)) and inner else mask_secrets(inner)
            for key, inner in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask_secrets(inner) for inner in value]
    return value


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {key: _redacted(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(item) for item in value]
    if isinstance(value, BaseException):
        return redact(f"{type(value).__name__}: {value}")
    return value


def _redact_event(_logger: Any, _method: str, event: Any) -> Any:
    """The structlog processor: every text of the event masked (see :func:`redact`);
    ``exc_info`` is left for the renderer."""
    return {key: value if key == "exc_info" else _redacted(value) for key, value in event.items()}


def get_logger(name: str) -> Any:
    """A structlog logger for ``name``; configuration is the application's choice."""
    return structlog.get_logger(name)


def default_logging() -> None:
    """Warnings and errors only, unless the application configured structlog itself: a
    library run should not print every info line to the caller's terminal."""
    if not structlog.is_configured():
        configure_logging(level="warning")


def configure_logging(
    *,
    level: str = "warning",
    fmt: Literal["auto", "json", "console"] = "auto",
    records: bool = True,
) -> None:
    """Configure structlog for the CLI: console on a terminal, JSON lines otherwise; every
    line goes through :func:`redact`. ``records=False`` (``--quiet``) drops the warnings
    about single records (a failed record: the failures file lists each one)."""
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            *([] if records else [_drop_record_warnings]),
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact_event,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=_current_stderr,
        cache_logger_on_first_use=False,
    )


def _drop_record_warnings(_logger: Any, method: str, event: Any) -> Any:
    """The processor that drops events about one record (they carry ``record_id``) below
    the error level."""
    if "record_id" in event and method not in ("error", "exception", "critical"):
        raise structlog.DropEvent
    return event


def _current_stderr(*_args: Any) -> structlog.PrintLogger:
    """A logger on whatever ``sys.stderr`` is when a message is logged, not the stream of
    the moment logging was configured (which a test runner or notebook may have closed)."""
    return structlog.PrintLogger(file=sys.stderr)
