"""structlog setup: bound context (run_id, record_id, node); JSON lines off a terminal.

structlog, and what it imports (rich, pygments, attrs: ~70 ms), is imported by the first
event that is not dropped: :func:`get_logger` hands out a :class:`LazyLogger`, and
:func:`configure_logging` only records its settings until structlog is imported, by GraSP or
by anyone else (an import hook applies them then). A run whose only events are below the
level never imports it.

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, cast

if TYPE_CHECKING:
    from importlib.abc import Loader
    from importlib.machinery import ModuleSpec

    import structlog

__all__ = [
    "LazyLogger",
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


_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "msg": logging.INFO,
    "warning": logging.WARNING,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "exception": logging.ERROR,
    "critical": logging.CRITICAL,
    "fatal": logging.CRITICAL,
}
"""structlog's level methods (and the method names its processors see) → their level."""


def _about_one_record(level: int, event: Mapping[str, Any]) -> bool:
    """Whether ``--quiet`` drops the event: it is about one record (it carries
    ``record_id``: the failures file lists each one) and below the error level."""
    return "record_id" in event and level < logging.ERROR


@dataclass(frozen=True, slots=True)
class _Settings:
    """What :func:`configure_logging` asked for."""

    level: int
    use_json: bool
    records: bool

    def drops(self, method: str, event: Mapping[str, Any]) -> bool:
        """Whether structlog, configured so, would drop this event unseen."""
        level = _LEVELS[method]
        return level < self.level or (not self.records and _about_one_record(level, event))


_pending: _Settings | None = None
"""Settings waiting for structlog's import (it is not imported yet)."""


class LazyLogger:
    """structlog's logger for ``name``, imported on the first event that is not dropped.

    While structlog is not imported and :func:`configure_logging` set a level, an event that
    configuration would drop is dropped here; any other call (``bind``, an event it would
    show, a logger nobody configured) imports structlog and goes to its logger."""

    __slots__ = ("_logger", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._logger: Any = None

    def _structlog_logger(self) -> Any:
        if self._logger is None:
            import structlog

            if _pending is not None and not structlog.is_configured():
                _apply_pending()  # imported past the hook (another finder came first)
            self._logger = structlog.get_logger(self._name)
        return self._logger

    def _emit(self, method: str, args: Sequence[Any], kw: dict[str, Any]) -> Any:
        settings = _pending
        if settings is not None and "structlog" not in sys.modules and settings.drops(method, kw):
            return None
        return getattr(self._structlog_logger(), method)(*args, **kw)

    def debug(self, *args: Any, **kw: Any) -> Any:
        return self._emit("debug", args, kw)

    def info(self, *args: Any, **kw: Any) -> Any:
        return self._emit("info", args, kw)

    def msg(self, *args: Any, **kw: Any) -> Any:
        return self._emit("msg", args, kw)

    def warning(self, *args: Any, **kw: Any) -> Any:
        return self._emit("warning", args, kw)

    def warn(self, *args: Any, **kw: Any) -> Any:
        return self._emit("warn", args, kw)

    def error(self, *args: Any, **kw: Any) -> Any:
        return self._emit("error", args, kw)

    def exception(self, *args: Any, **kw: Any) -> Any:
        return self._emit("exception", args, kw)

    def critical(self, *args: Any, **kw: Any) -> Any:
        return self._emit("critical", args, kw)

    def fatal(self, *args: Any, **kw: Any) -> Any:
        return self._emit("fatal", args, kw)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # copy, pickle: nothing to forward
            raise AttributeError(name)
        return getattr(self._structlog_logger(), name)


def get_logger(name: str) -> LazyLogger:
    """A structlog logger for ``name``; configuration is the application's choice."""
    return LazyLogger(name)


def default_logging() -> None:
    """Warnings and errors only, unless the application configured structlog itself: a
    library run should not print every info line to the caller's terminal."""
    if "structlog" in sys.modules:
        if not sys.modules["structlog"].is_configured():
            configure_logging(level="warning")
    elif _pending is None:  # nobody can have configured a structlog not yet imported
        configure_logging(level="warning")


def configure_logging(
    *,
    level: str = "warning",
    fmt: Literal["auto", "json", "console"] = "auto",
    records: bool = True,
) -> None:
    """Configure structlog for the CLI: console on a terminal, JSON lines otherwise; every
    line goes through :func:`redact`. ``records=False`` (``--quiet``) drops the warnings
    about single records (a failed record: the failures file lists each one).

    Until structlog is imported the settings wait (see the module's docstring)."""
    global _pending
    settings = _Settings(
        level=logging.getLevelNamesMapping()[level.upper()],
        use_json=fmt == "json" or (fmt == "auto" and not sys.stderr.isatty()),
        records=records,
    )
    if "structlog" in sys.modules:
        _pending = None
        _apply(settings)
        return
    _pending = settings
    if not any(isinstance(finder, _ConfigureOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _ConfigureOnImport())


def _apply(settings: _Settings) -> None:
    import structlog

    renderer: Any = (
        structlog.processors.JSONRenderer()
        if settings.use_json
        else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            *([] if settings.records else [_drop_record_warnings]),
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact_event,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(settings.level),
        logger_factory=_current_stderr,
        cache_logger_on_first_use=False,
    )


def _apply_pending() -> None:
    global _pending
    settings, _pending = _pending, None
    if settings is not None:
        _apply(settings)


class _ConfigureOnImport:
    """Applies the waiting settings as soon as structlog is imported, whoever imports it
    (a user's function calling ``structlog.get_logger`` sees the configured structlog),
    then leaves ``sys.meta_path``."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != "structlog":
            return None
        for finder in sys.meta_path:
            if finder is self:
                continue
            find_spec = getattr(finder, "find_spec", None)
            spec: ModuleSpec | None = (
                find_spec(fullname, path, target) if find_spec is not None else None
            )
            if spec is not None and spec.loader is not None:
                spec.loader = cast("Loader", _ThenConfigure(spec.loader))
                return spec
        return None


class _ThenConfigure:
    """structlog's own loader, then :func:`_apply_pending`; it puts the loader back."""

    def __init__(self, loader: Loader) -> None:
        self._loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _ConfigureOnImport)]
        _apply_pending()


def _drop_record_warnings(_logger: Any, method: str, event: Any) -> Any:
    """The processor that drops events about one record below the error level."""
    if _about_one_record(_LEVELS.get(method, logging.ERROR), event):
        import structlog

        raise structlog.DropEvent
    return event


def _current_stderr(*_args: Any) -> structlog.PrintLogger:
    """A logger on whatever ``sys.stderr`` is when a message is logged, not the stream of
    the moment logging was configured (which a test runner or notebook may have closed)."""
    import structlog

    return structlog.PrintLogger(file=sys.stderr)
