"""Tool specs as SyGra writes them: a module or a class standing for every tool in it, and
functions wrapped by LangChain's ``@tool``.

LangChain is never imported: a wrapped tool is recognised by its shape (a ``name``, a
``description``, an ``args_schema`` and the function under ``func`` or ``coroutine``), and
the function it wraps becomes a plain GraSP tool, its schema read from its signature.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from grasp_core.errors import ConfigError
from grasp_core.plugin import resolve_dotted

__all__ = ["expand_tool_specs", "wrapped_tool_function"]


def wrapped_tool_function(obj: Any) -> Callable[..., Any] | None:
    """The function a LangChain-style tool object wraps, named as the tool (None for
    anything else)."""
    if inspect.isclass(obj) or not isinstance(getattr(obj, "name", None), str):
        return None
    if not hasattr(obj, "args_schema") or not hasattr(obj, "description"):
        return None
    fn = getattr(obj, "coroutine", None) or getattr(obj, "func", None)
    if not callable(fn):
        return None
    if getattr(fn, "__name__", None) == obj.name:
        return fn  # type: ignore[no-any-return]
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def named_async(*args: Any, **kwargs: Any) -> Any:
            return await fn(*args, **kwargs)

        named_async.__name__ = obj.name
        return named_async

    @functools.wraps(fn)
    def named(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    named.__name__ = obj.name
    return named


def expand_tool_specs(
    specs: Sequence[str | Callable[..., Any]], base_dir: Path | None
) -> list[str | Callable[..., Any]]:
    """Each spec as one or more tools: a dotted path to a module means every wrapped tool in
    it; a class holding wrapped tools means those tools; a wrapped tool means its function.
    Anything else is left for :func:`load_tools` (a function, or a class with ``apply``)."""
    expanded: list[str | Callable[..., Any]] = []
    for spec in specs:
        target = spec
        if isinstance(spec, str):
            target = resolve_dotted(spec, base_dir, what="tool", whole_module=True)
        function = wrapped_tool_function(target)
        if function is not None:
            expanded.append(function)
            continue
        if isinstance(target, ModuleType) or inspect.isclass(target):
            found = [f for f in map(wrapped_tool_function, vars(target).values()) if f]
            if found:
                expanded.extend(found)
                continue
            if isinstance(target, ModuleType):
                raise ConfigError(
                    f"tool {spec!r} is a module without tools wrapped by `@tool`; name each "
                    "function (`module.function`), or wrap the functions with `@tool`"
                )
        expanded.append(spec)
    return expanded
