"""Load and call user code: lambdas, conditions, hooks, tools.

``async def`` callables run on the event loop. Plain functions run where their ``run_in``
says (:mod:`grasp_core.config.run_in`): in a worker thread (the default here, since one
blocking call would stall every record), on the loop (``inline=True``), or on the loop until
measuring shows they block (``auto``, what lambdas, conditions and hooks use).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from time import perf_counter
from typing import Any

import anyio.to_thread

from grasp_core.config.dotted import resolve_dotted
from grasp_core.config.run_in import LOOP_WARN_SECONDS, Placement, RunIn
from grasp_core.errors import PluginError
from grasp_core.signal_exits import calls_user_code

__all__ = ["INLINE_WARN_SECONDS", "UserCallable", "load_callable"]

INLINE_WARN_SECONDS = LOOP_WARN_SECONDS
"""The older name of :data:`grasp_core.config.run_in.LOOP_WARN_SECONDS`."""


class UserCallable:
    """A user function, bound once, called the right way for its kind."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str,
        inline: bool = False,
        run_in: RunIn | None = None,
        where: str = "",
    ) -> None:
        self.fn = fn
        self.name = name
        self.is_async = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
            getattr(fn, "__call__", None)  # noqa: B004 - an instance's async __call__
        )
        mode: RunIn = run_in or ("loop" if inline else "thread")
        self.placement = Placement(mode, name=name, where=where)
        """Where a plain function runs (``where`` names its user in warnings)."""

    @property
    def inline(self) -> bool:
        """Whether a plain function is always called on the event loop (``run_in: loop``)."""
        return self.placement.mode == "loop"

    def positional_count(self) -> int | None:
        """How many positional arguments the function takes; None when it takes any number
        (``*args``) or its signature cannot be read. Hooks written in SyGra's style are told
        apart by it (``apply(response)`` against ``f(result, state)``)."""
        try:
            parameters = inspect.signature(self.fn).parameters.values()
        except (TypeError, ValueError):
            return None
        count = 0
        for parameter in parameters:
            if parameter.kind is parameter.VAR_POSITIONAL:
                return None
            if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
                count += 1
        return count

    async def __call__(self, *args: Any) -> Any:
        if self.is_async:
            return await self.fn(*args)
        if not self.placement.on_loop:
            # abandoned on cancel (a node timeout, a stop): a thread cannot be killed, but the
            # record need not wait for it
            return await anyio.to_thread.run_sync(
                functools.partial(self.fn, *args), abandon_on_cancel=True
            )
        return self.call_on_loop(*args)

    def call_on_loop(self, *args: Any) -> Any:
        """Call the plain function here, on the event loop, as ``await self(*args)`` does
        while ``placement.on_loop``; a caller that checks that itself saves a coroutine.

        A stop signal landing inside the function interrupts it (it holds the loop): the
        handler finds this method on the stack (:func:`calls_user_code`)."""
        started = perf_counter()
        try:
            return self.fn(*args)
        finally:
            held = perf_counter() - started
            if held > self.placement.notice:
                self.placement.held(held)


calls_user_code(UserCallable.call_on_loop.__code__)


def load_callable(
    spec: str | Callable[..., Any],
    base_dir: Path | None,
    *,
    what: str,
    method: str | None = None,
    inline: bool = False,
    run_in: RunIn | None = None,
    where: str = "",
) -> UserCallable:
    """Resolve a dotted path (or take a callable) and return it ready to call.

    A class is instantiated with no arguments; ``method`` (then ``apply``, then
    ``__call__``) is the entry point of the instance. ``run_in`` (else ``inline``) places a
    plain function; ``where`` names its user in warnings (``node 'clean'``).
    """
    placed: dict[str, Any] = {"inline": inline, "run_in": run_in, "where": where}
    target: Any = resolve_dotted(spec, base_dir, what=what) if isinstance(spec, str) else spec
    name = spec if isinstance(spec, str) else getattr(spec, "__qualname__", repr(spec))
    if inspect.isclass(target):
        on_class = _called_on_class(target, method)
        if on_class is not None:
            return UserCallable(on_class, name=name, **placed)
        try:
            instance = target()
        except Exception as exc:
            raise PluginError(
                f"cannot create {what} {name!r}: {target.__name__}() raised "
                f"{type(exc).__name__}: {exc}; the class must take no constructor arguments"
            ) from exc
        for candidate in (method, "apply", "__call__"):
            if candidate and callable(getattr(instance, candidate, None)):
                bound = getattr(instance, candidate)
                if candidate != "__call__" or type(instance).__call__ is not object.__call__:
                    return UserCallable(bound, name=name, **placed)
        raise PluginError(
            f"{what} {name!r} is a class without an `apply` or `__call__` method; add one"
        )
    if not callable(target):
        raise PluginError(f"{what} {name!r} is a {type(target).__name__}, not a callable")
    return UserCallable(target, name=name, **placed)


def _called_on_class(target: type, method: str | None) -> Callable[..., Any] | None:
    """The entry point of a class that is called on the class itself, never created: a
    ``staticmethod`` or ``classmethod``, or a plain ``apply`` written without ``self`` (as
    SyGra's hooks are: ``def apply(state)``, called as ``Cls.apply(state)``)."""
    for candidate in (method, "apply"):
        if not candidate:
            continue
        raw = inspect.getattr_static(target, candidate, None)
        if isinstance(raw, staticmethod | classmethod):
            return getattr(target, candidate)  # type: ignore[no-any-return]
        if inspect.isfunction(raw):
            first = next(iter(inspect.signature(raw).parameters), None)
            return raw if first not in ("self", None) else None
    return None
