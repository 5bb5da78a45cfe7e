"""Prefix config errors raised while building something from a task block with where it is
(also a source's: a data file that does not exist is a mistake in the task file)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from grasp_core.config.yaml_source import YamlDocument, YamlPath, format_yaml_path
from grasp_core.errors import ConfigError, SourceError

__all__ = ["located"]


@contextlib.contextmanager
def located(document: YamlDocument | None, path: YamlPath) -> Iterator[None]:
    """Prefix a ``ConfigError`` (or a ``SourceError``: a data file that is not there) with
    the task file, the line of ``path`` and, unless the message already starts with it, the
    YAML path. Messages that already name the file pass unchanged."""
    try:
        yield
    except (ConfigError, SourceError) as exc:
        message = str(exc)
        if document is None or document.source in message:
            raise
        if message.startswith(format_yaml_path(path)):
            line = document.line_of(path)
            where = f"{document.source}:{line}" if line else document.source
        else:
            where = document.where(path)
        raise type(exc)(f"{where}: {message}") from None
