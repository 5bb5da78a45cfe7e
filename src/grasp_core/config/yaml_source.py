"""The one place that reads YAML: plain Python data plus where each value came from."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grasp_core.errors import ConfigError

if TYPE_CHECKING:
    from ruamel.yaml import YAML

__all__ = [
    "YamlDocument",
    "YamlPath",
    "bounded_yaml",
    "format_yaml_path",
    "load_yaml",
    "parse_yaml",
]

_CORE_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("map", "seq", "str", "int", "float", "bool", "null")
)

YamlPath = tuple[str | int, ...]


def format_yaml_path(path: YamlPath) -> str:
    """Render ``("graph_config", "nodes", "gen", 0)`` as ``graph_config.nodes.gen[0]``."""
    text = ""
    for part in path:
        if isinstance(part, str) and not part.isprintable():
            part = repr(part)
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<top level>"


@dataclass(frozen=True)
class YamlDocument:
    """Parsed YAML as plain dicts and lists, with 1-based line numbers by YAML path."""

    data: Any
    source: str
    lines: dict[YamlPath, int] = field(default_factory=dict)

    def line_of(self, path: YamlPath) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None

    def where(self, path: YamlPath) -> str:
        """``file:line: yaml.path`` for error messages."""
        line = self.line_of(path)
        location = f"{self.source}:{line}" if line is not None else self.source
        return f"{location}: {format_yaml_path(path)}"


def load_yaml(path: Path) -> YamlDocument:
    """Read a YAML file; a missing file or a syntax error is a ``ConfigError`` naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such file; check the path passed to grasp") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason}); save it as UTF-8"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the file ({exc.strerror})") from exc
    return parse_yaml(text, source=str(path))


def bounded_yaml() -> YAML:
    """ruamel's round-trip YAML whose loading refuses alias bombs and runaway nesting
    (``ConfigError("LINE: ...")``, see ``_yaml_bounds``): for every reader of YAML a user
    may not have written (GraSP Studio's editor too)."""
    from ruamel.yaml import YAML

    from grasp_core.config._yaml_bounds import BoundedComposer

    yaml = YAML(typ="rt")
    yaml.Composer = BoundedComposer
    return yaml


_PARSED: dict[tuple[str, str], YamlDocument] = {}
"""Documents parsed in this process, by their exact text and source (see ``parse_yaml``)."""
_PARSED_MAX = 32
_PARSED_MAX_TEXT = 1 << 20
_PARSED_LOCK = threading.Lock()


def parse_yaml(text: str, *, source: str = "<string>") -> YamlDocument:
    """Parse YAML text, keeping the line of every mapping key and sequence item.

    A process that runs the same task again (a warm rerun, GraSP Studio) reads the same text:
    ruamel's round-trip parse is about 2 ms a file, so the document is remembered by its exact
    text and source (any edit is a different text, parsed afresh) and each caller gets its own
    copy of the data. Text that fails to parse is never remembered."""
    key = (text, source)
    known = _PARSED.get(key)
    if known is not None:
        return YamlDocument(data=_copy_plain(known.data), source=source, lines=dict(known.lines))
    document = _parse_yaml(text, source)
    if len(text) <= _PARSED_MAX_TEXT:
        kept = YamlDocument(
            data=_copy_plain(document.data), source=source, lines=dict(document.lines)
        )
        with _PARSED_LOCK:  # readers in worker threads (a run's hops, GraSP Studio)
            while len(_PARSED) >= _PARSED_MAX:
                del _PARSED[next(iter(_PARSED))]
            _PARSED[key] = kept
    return document


def _copy_plain(data: Any) -> Any:
    """A copy of parsed data's dicts and lists (its scalars are immutable)."""
    if type(data) is dict:
        return {key: _copy_plain(value) for key, value in data.items()}
    if type(data) is list:
        return [_copy_plain(value) for value in data]
    return data


def _parse_yaml(text: str, source: str) -> YamlDocument:
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.reader import ReaderError

    yaml = bounded_yaml()  # aliases and nesting are bounded: see _yaml_bounds
    try:
        raw = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"{source}{line}: {problem}; fix the YAML syntax there") from exc
    except ReaderError as exc:
        bad_line = text.count("\n", 0, exc.position) + 1
        raise ConfigError(
            f"{source}:{bad_line}: character {exc.character!r} is not allowed in YAML; remove it"
        ) from None
    except YAMLError as exc:
        raise ConfigError(f"{source}: invalid YAML ({exc})") from exc
    except ConfigError as exc:  # from BoundedComposer: "LINE: problem"
        raise ConfigError(f"{source}:{exc}") from None
    except Exception as exc:  # ruamel raises plain errors for some tags (python/object...)
        raise ConfigError(
            f"{source}: cannot read this YAML ({type(exc).__name__}: {exc}); task files are "
            "plain data: remove custom tags such as !!python/..."
        ) from exc
    lines: dict[YamlPath, int] = {}
    try:
        data = _to_plain(raw, (), lines)
    except ConfigError as exc:
        raise ConfigError(f"{source}:{exc}") from None
    return YamlDocument(data=data, source=source, lines=lines)


def _to_plain(node: Any, path: YamlPath, lines: dict[YamlPath, int]) -> Any:
    """Plain dicts, lists and scalars; any YAML tag that would need a constructor is refused
    (task files are data: code runs only through the dotted paths they name)."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar

    tag = getattr(getattr(node, "tag", None), "value", None)
    if tag is not None and tag not in _CORE_TAGS:
        raise ConfigError(
            f"{lines.get(path, '?')}: {format_yaml_path(path)}: the YAML tag {tag!r} is not "
            "allowed; task files hold plain values (code runs only through dotted paths)"
        )
    if isinstance(node, TaggedScalar):
        return str(node.value)

    if isinstance(node, CommentedMap):
        if not path:
            lines[path] = node.lc.line + 1
        result: dict[Any, Any] = {}
        for key, value in node.items():
            child = (*path, str(key))
            try:
                key_line, _ = node.lc.key(key)
                lines[child] = key_line + 1
            except (KeyError, TypeError):  # keys from a `<<:` merge have no position
                lines[child] = lines.get(path, 0) or node.lc.line + 1
            result[str(key) if not isinstance(key, str | int | float | bool) else key] = _to_plain(
                value, child, lines
            )
        return result
    if isinstance(node, CommentedSeq):
        items: list[Any] = []
        for index, value in enumerate(node):
            child = (*path, index)
            position = node.lc.item(index)
            lines[child] = position[0] + 1 if position else lines.get(path, 0)
            items.append(_to_plain(value, child, lines))
        return items
    if node is None or isinstance(node, bool | int | float):
        return node
    if isinstance(node, str):
        return str(node)
    return node
