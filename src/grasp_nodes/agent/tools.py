"""Tools for the ``agent`` node: a JSON schema from each Python signature, and safe calls.

A tool is a plain function (sync or async), a class with ``apply``/``__call__`` (created
once), or a callable object. Its schema comes from its signature through pydantic: every
parameter needs a type annotation; descriptions come from ``Annotated[..., Field(...)]``
or the docstring's Google-style ``Args:`` section, and the docstring's first paragraph
describes the tool. Sync tools run in a worker thread, async ones on the event loop.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pydantic_core
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PydanticUserError,
    ValidationError,
    create_model,
)

from grasp_core.errors import ConfigError
from grasp_core.plugin import UserCallable, load_callable

__all__ = [
    "Tool",
    "ToolArgumentsError",
    "ToolOutcome",
    "load_tools",
    "run_tool",
    "tool_content",
    "tool_from_callable",
]

_NAME: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SECTIONS: Final = ("Args:", "Arguments:", "Parameters:")
_ARG_LINE: Final = re.compile(r"\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)")
_OTHER_SECTION: Final = re.compile(r"[A-Z][A-Za-z ]*:$")


class ToolArgumentsError(ValueError):
    """The model's arguments for a tool are not JSON, not an object, or do not validate."""


@dataclass(frozen=True, slots=True)
class Tool:
    """A callable the model may ask for, with the schema it is described by."""

    name: str
    description: str
    """The docstring's first paragraph (empty when the function has no docstring)."""
    parameters: dict[str, Any]
    """The JSON schema of the arguments object."""
    arguments: type[BaseModel]
    """Validates the model's arguments (by parameter name; unknown keys are refused)."""
    call: UserCallable
    """Takes the validated arguments as one dict of keyword arguments."""

    def schema(self) -> dict[str, Any]:
        """The OpenAI ``tools`` entry: ``{"type": "function", "function": {...}}``."""
        function: dict[str, Any] = {"name": self.name}
        if self.description:
            function["description"] = self.description
        function["parameters"] = self.parameters
        return {"type": "function", "function": function}

    def parse_arguments(self, raw: str | Mapping[str, Any] | None) -> dict[str, Any]:
        """The keyword arguments for a call, from the model's JSON text (or object).

        Raw control characters inside strings (a bare newline, as grammar-constrained
        servers emit) are read as what they are, as ``json.loads(..., strict=False)`` does."""
        data: Any = raw
        if raw is None or isinstance(raw, str):
            try:
                data = json.loads(raw or "{}", strict=False)
            except ValueError as exc:
                raise ToolArgumentsError(
                    f"the arguments for tool {self.name!r} are not valid JSON ({exc}); "
                    "send one JSON object with the tool's parameters"
                ) from None
        if not isinstance(data, Mapping):
            raise ToolArgumentsError(
                f"the arguments for tool {self.name!r} must be a JSON object, "
                f"got {type(data).__name__}"
            )
        try:
            model = self.arguments.model_validate(dict(data))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, error['loc'])) or 'arguments'}: {error['msg']}"
                for error in exc.errors(include_url=False)
            )
            raise ToolArgumentsError(
                f"invalid arguments for tool {self.name!r}: {problems}; fix them and call again"
            ) from None
        fields = type(model).model_fields
        return {str(fields[name].alias): getattr(model, name) for name in model.model_fields_set}


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """What one tool call gave: the tool message's content, and whether it is an error."""

    content: str
    error: bool = False


def tool_from_callable(fn: Callable[..., Any] | UserCallable, *, name: str | None = None) -> Tool:
    """Describe ``fn`` as a tool; a signature without a JSON schema is a ``ConfigError``."""
    target = fn if isinstance(fn, UserCallable) else UserCallable(fn, name=_default_name(fn))
    tool_name = name or _default_name(target.fn)
    if not _NAME.fullmatch(tool_name):
        raise ConfigError(
            f"tool name {tool_name!r} is not allowed; tool names are 1-64 letters, digits, "
            "'_' or '-': rename the function"
        )
    doc = _docstring(target.fn)
    arguments = _arguments_model(target.fn, tool_name, _argument_docs(doc))
    try:
        parameters = arguments.model_json_schema()
    except PydanticUserError as exc:
        if exc.code == "class-not-fully-defined":
            missing = re.search(r"define `([^`]+)`", str(exc))
            what = f"type {missing.group(1)!r}" if missing else "a type"
            raise ConfigError(
                f"tool {tool_name!r}: an annotation names {what}, which does not resolve; "
                "import it in the tool's module"
            ) from exc
        raise _no_schema(tool_name, exc) from exc
    except Exception as exc:  # pydantic raises several types for types without a JSON schema
        raise _no_schema(tool_name, exc) from exc
    parameters.pop("title", None)
    for field in parameters.get("properties", {}).values():
        if isinstance(field, dict):
            field.pop("title", None)
    return Tool(tool_name, _summary(doc), parameters, arguments, _spread(target))


def load_tools(specs: Sequence[str | Callable[..., Any]], base_dir: Path | None) -> list[Tool]:
    """Resolve dotted paths (or take callables) and describe each as a tool.

    A tool is named after the last part of its dotted path (or the function's name);
    two tools with one name are a ``ConfigError``.
    """
    tools: dict[str, Tool] = {}
    for spec in specs:
        callable_ = load_callable(spec, base_dir, what="tool")
        name = spec.rsplit(".", 1)[-1] if isinstance(spec, str) else _default_name(spec)
        tool = tool_from_callable(callable_, name=name)
        if tool.name in tools:
            raise ConfigError(
                f"two tools are named {tool.name!r}; the model tells tools apart by name, "
                "so rename one of the functions"
            )
        tools[tool.name] = tool
    return list(tools.values())


async def run_tool(tools: Mapping[str, Tool], name: str, arguments: Any) -> ToolOutcome:
    """Call tool ``name``; unknown tools, bad arguments and exceptions become error outcomes.

    Strings are returned as they are; other results are JSON-encoded.
    """
    tool = tools.get(name)
    if tool is None:
        known = ", ".join(sorted(tools)) or "none"
        return ToolOutcome(f"error: unknown tool {name!r}; available tools: {known}", True)
    try:
        kwargs = tool.parse_arguments(arguments)
    except ToolArgumentsError as exc:
        return ToolOutcome(f"error: {exc}", True)
    try:
        value = await tool.call(kwargs)
    except Exception as exc:  # the model sees the error and may recover; cancellation passes
        return ToolOutcome(f"error: tool {name!r} raised {type(exc).__name__}: {exc}", True)
    return ToolOutcome(tool_content(value))


def tool_content(value: Any) -> str:
    """A tool's result as message content: strings as they are, anything else as JSON."""
    if isinstance(value, str):
        return value
    try:
        return pydantic_core.to_json(value, fallback=str).decode()
    except (pydantic_core.PydanticSerializationError, ValueError, TypeError):
        return repr(value)


# --- schema derivation --------------------------------------------------------------------


def _default_name(fn: Any) -> str:
    name = getattr(fn, "__name__", None)
    if name in (None, "apply", "__call__") and hasattr(fn, "__self__"):
        return type(fn.__self__).__name__
    return str(name) if name is not None else type(fn).__name__


def _docstring(fn: Any) -> str:
    doc = inspect.getdoc(fn)
    if not doc and hasattr(fn, "__self__"):
        doc = inspect.getdoc(type(fn.__self__))
    return doc or ""


def _summary(doc: str) -> str:
    """The first paragraph, joined into one line (stops at an ``Args:`` header)."""
    lines: list[str] = []
    for line in doc.strip().splitlines():
        if not line.strip() or line.strip() in _SECTIONS:
            break
        lines.append(line.strip())
    return " ".join(lines)


def _argument_docs(doc: str) -> dict[str, str]:
    """Parameter descriptions from a Google-style ``Args:`` section."""
    found: dict[str, str] = {}
    lines = doc.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() in _SECTIONS)
    except StopIteration:
        return found
    header_indent = len(lines[start]) - len(lines[start].lstrip())
    item_indent: int | None = None
    current: str | None = None
    for line in lines[start + 1 :]:
        text = line.strip()
        if not text:
            continue
        indent = len(line) - len(line.lstrip())
        if indent <= header_indent or _OTHER_SECTION.fullmatch(text):
            break
        if item_indent is None:
            item_indent = indent
        match = _ARG_LINE.fullmatch(text) if indent == item_indent else None
        if match is not None:
            current = match.group(1)
            found[current] = match.group(2).strip()
        elif current is not None and indent > item_indent:
            found[current] = f"{found[current]} {text}".strip()
    return found


def _arguments_model(fn: Any, name: str, docs: Mapping[str, str]) -> type[BaseModel]:
    try:
        signature = inspect.signature(fn, eval_str=True)
    except Exception as exc:  # NameError for unresolved annotations, ValueError for builtins
        raise ConfigError(
            f"tool {name!r}: cannot read its signature ({type(exc).__name__}: {exc}); use a "
            "function whose annotations resolve in its own module"
        ) from exc
    fields: dict[str, Any] = {}
    for index, param in enumerate(signature.parameters.values()):
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
            raise ConfigError(
                f"tool {name!r}: parameter {str(param)!r} cannot be sent by name; declare "
                "every argument as a named parameter (no *args, **kwargs or `/`)"
            )
        if param.annotation is param.empty:
            raise ConfigError(
                f"tool {name!r}: parameter {param.name!r} has no type annotation; annotate "
                f"it (such as `{param.name}: str`) so the model knows what to send"
            )
        options: dict[str, Any] = {"alias": param.name}
        if param.name in docs and not _described(param.annotation):
            options["description"] = docs[param.name]
        default = ... if param.default is param.empty else param.default
        # Fields get neutral names, so parameters such as `json` or `model_config` cannot
        # clash with BaseModel attributes; the alias is what the model sees and sends.
        fields[f"arg{index}"] = (param.annotation, Field(default, **options))
    try:
        return create_model(f"{name}_arguments", __config__=ConfigDict(extra="forbid"), **fields)
    except Exception as exc:  # pydantic's schema errors for unsupported types
        raise _no_schema(name, exc) from exc


def _no_schema(name: str, exc: Exception) -> ConfigError:
    return ConfigError(
        f"tool {name!r}: its parameters have no JSON schema ({_first_line(exc)}); use "
        "JSON-friendly annotations (str, int, float, bool, list, dict, Literal, pydantic "
        "models)"
    )


def _described(annotation: Any) -> bool:
    """Whether an ``Annotated`` type already carries a ``Field(description=...)``."""
    return any(
        getattr(meta, "description", None) for meta in getattr(annotation, "__metadata__", ())
    )


def _first_line(exc: BaseException) -> str:
    """The first sentence of ``exc`` (pydantic's advice after it does not apply here)."""
    text = str(exc).strip()
    if not text:
        return type(exc).__name__
    return text.splitlines()[0].split(". ")[0].rstrip(".")


def _spread(target: UserCallable) -> UserCallable:
    """``target`` called with one dict of keyword arguments, run the way it would be run."""
    fn = target.fn
    if target.is_async:

        async def call_async(kwargs: dict[str, Any]) -> Any:
            return await fn(**kwargs)

        return UserCallable(call_async, name=target.name)

    def call(kwargs: dict[str, Any]) -> Any:
        return fn(**kwargs)

    return UserCallable(call, name=target.name, inline=target.inline)
