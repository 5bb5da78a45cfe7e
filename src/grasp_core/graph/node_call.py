"""One node run: its ``pre_process`` hook, the node, its ``post_process`` hook, under the
node's ``timeout``, counted in the run's metrics; the result is the node's JSON-safe state
update.

A node's code may raise what ends a program: ``SystemExit`` (``sys.exit(3)`` in a lambda)
fails the record with a reason saying so, never the run, unless a signal handler raised it
(:mod:`grasp_core.signal_exits`: it then ends the run); ``KeyboardInterrupt`` stops the run as
Ctrl-C does, through the stop that :func:`stop_on_interrupt` names, leaving the record for
``--resume``. Neither escapes the record's task, where asyncio would end the whole event loop.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NoReturn

import anyio

from grasp_core.errors import NodeError
from grasp_core.graph.compiled import CompiledNode
from grasp_core.graph.hook_styles import VIEW_ONLY
from grasp_core.graph.state import jsonable_delta
from grasp_core.logs import get_logger
from grasp_core.models.cache_key import enter_node_run
from grasp_core.observe.metrics import RunMetrics
from grasp_core.protocols import NodeContext
from grasp_core.signal_exits import raised_by_signal_handler

__all__ = ["RunStop", "call_node", "stop_for_interrupt", "stop_on_interrupt"]

_NO_SCOPE = contextlib.nullcontext()
_log = get_logger(__name__)


@dataclass
class RunStop:
    """How a run stops for an interrupt raised inside a record's walk: ``stop`` cancels the
    records in flight (``Engine.request_stop``); ``exit`` keeps the first ``SystemExit`` a
    signal handler raised, which the run raises once it has closed its files."""

    stop: Callable[[], None]
    exit: SystemExit | None = None


_stop_run: ContextVar[RunStop | None] = ContextVar("grasp_stop_run", default=None)


@contextlib.contextmanager
def stop_on_interrupt(stop: Callable[[], None]) -> Iterator[RunStop]:
    """Inside the block (and the tasks it starts), a ``KeyboardInterrupt`` raised by a node,
    or a ``SystemExit`` raised by a signal handler, calls ``stop``, which must cancel the
    records in flight (``Engine.request_stop``)."""
    box = RunStop(stop)
    token = _stop_run.set(box)
    try:
        yield box
    finally:
        _stop_run.reset(token)


async def stop_for_interrupt(
    exc: KeyboardInterrupt | SystemExit, *, record_id: str, node: str | None
) -> NoReturn:
    """Stop the run as on Ctrl-C for a ``KeyboardInterrupt`` raised by user code of ``node``,
    or a ``SystemExit`` raised by a signal handler while a record was walking (inside
    :func:`stop_on_interrupt`; re-raised outside it). The stop cancels the record: it is
    left for ``--resume``. Raised in the record's task, either would end the event loop at
    once, without closing files or joining worker threads."""
    box = _stop_run.get()
    if box is None:
        raise exc
    if isinstance(exc, SystemExit):
        box.exit = box.exit or exc
        _log.warning(
            "a signal handler asked to exit: stopping; run again with --resume",
            code=exc.code,
            record_id=record_id,
            node=node,
        )
    else:
        _log.warning(
            "user code raised KeyboardInterrupt: stopping as on Ctrl-C; run again with --resume",
            record_id=record_id,
            node=node,
        )
    box.stop()
    await anyio.sleep_forever()
    raise exc


async def call_node(
    compiled: CompiledNode,
    state: dict[str, Any],
    ctx: NodeContext,
    *,
    metrics: RunMetrics,
    snapshot: bool,
) -> dict[str, Any]:
    """Run ``compiled`` on ``state`` and return its update (hooks' keys included).

    With ``snapshot`` the node sees a copy of the state (parallel branches, or a
    ``pre_process`` hook whose keys the node must see); otherwise a read-only view of it.
    A node without hooks or timeout (the common case) is awaited directly; the update is
    copied as JSON-safe data unless the node says it already is (``compiled.fresh``).
    """
    name = compiled.name
    stats = metrics.running(name)
    enter_node_run(ctx.record_id, ctx.node, ctx.iteration)  # the response cache's call identity
    stage: list[str] | None = None  # where a staged run is; a direct run is in the node
    started = time.perf_counter()
    try:
        if compiled.direct:
            output = await compiled.node.run(
                dict(state) if snapshot else MappingProxyType(state), ctx
            )
        else:
            stage = ["pre_process"]
            output = await _staged(compiled, state, ctx, snapshot, stage)
    except SystemExit as exc:
        if raised_by_signal_handler(exc):  # a stop (Ray's SIGTERM), not the node's doing
            await stop_for_interrupt(exc, record_id=ctx.record_id, node=name)
        stats.failures += 1
        code = "" if exc.code is None else repr(exc.code)
        raise NodeError(
            f"record {ctx.record_id!r}, node {name!r}: "
            f"{_whose(compiled, stage[0] if stage else 'node')} called sys.exit({code}); a node "
            "fails its record by raising an exception, and cannot end the run",
            node=name,
        ) from exc
    except KeyboardInterrupt as exc:
        await stop_for_interrupt(exc, record_id=ctx.record_id, node=name)
    except Exception:
        stats.failures += 1
        raise
    finally:
        stats.seconds += time.perf_counter() - started
    stats.runs += 1
    if compiled.fresh and type(output) is dict:
        return output  # the node's own new JSON data: nothing to copy
    return jsonable_delta(output, node=name, record_id=ctx.record_id)  # a copy: nothing shared


async def _staged(
    compiled: CompiledNode,
    state: dict[str, Any],
    ctx: NodeContext,
    snapshot: bool,
    stage: list[str],
) -> Mapping[str, Any]:
    """A run with hooks or a timeout: ``pre_process``, the node, ``post_process`` under the
    node's ``timeout``; ``stage[0]`` says which one runs (for the messages of a failure)."""
    name = compiled.name
    view: dict[str, Any] = dict(state) if snapshot else state
    delta: dict[str, Any] = {}
    deadline = (
        anyio.CancelScope(deadline=anyio.current_time() + compiled.timeout)
        if compiled.timeout
        else None
    )
    with deadline if deadline is not None else _NO_SCOPE:
        if compiled.pre_process is not None:
            delta.update(_mapping(await compiled.pre_process(view), name, "pre_process"))
            seen_only = delta.pop(VIEW_ONLY, None) or {}  # the node sees it; not stored
            view.update(delta)
            view.update(seen_only)
        stage[0] = "node"
        output: Mapping[str, Any] = await compiled.node.run(
            MappingProxyType(view) if view is state else view, ctx
        )
        if compiled.post_process is not None:
            stage[0] = "post_process"
            output = _mapping(
                await compiled.post_process(output, MappingProxyType(view)),
                name,
                "post_process",
            )
    if deadline is not None and deadline.cancelled_caught:
        raise NodeError(
            f"record {ctx.record_id!r}, node {name!r}: took longer than its timeout "
            f"of {compiled.timeout:g}s; raise the node's `timeout` or make it faster",
            node=name,
        )
    if delta:
        delta.update(output)
        return delta
    return output


def _whose(compiled: CompiledNode, stage: str) -> str:
    if stage != "node":
        return f"its {stage} hook"
    return "the lambda" if compiled.node_type == "lambda" else f"the {compiled.node_type} node"


def _mapping(value: Any, node: str, hook: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise NodeError(
            f"node {node!r}: {hook} must return a dict of state updates, "
            f"got {type(value).__name__}",
            node=node,
        )
    return dict(value)
