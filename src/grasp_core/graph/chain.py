"""A chain's walk: a plain loop over its nodes.

In a chain (:attr:`~grasp_core.graph.compiled.CompiledGraph.chain`: START, then each node
with one way in and one way out, no conditions, no loops) every node runs once, in order, the
``n``-th at step ``n``: the edge bookkeeping of the general walk
(:mod:`grasp_core.graph.walker`) would decide exactly that, so this loop skips it and awaits
only the nodes themselves. The results (state, journal lines, appended keys' order, replay,
failures) are the general walk's; tests pin them to it.
"""

from __future__ import annotations

import time
from typing import Any

from grasp_core.errors import RecordError
from grasp_core.graph.record_walk import RecordWalk, record_failure
from grasp_core.graph.state import APPEND_KEYS

__all__ = ["walk_chain"]


async def walk_chain(walk: RecordWalk, chain: tuple[str, ...]) -> dict[str, Any]:
    """Run the nodes of ``chain`` in turn on ``walk``'s record; return its final state or
    raise the ``RecordError`` that fails it."""
    apply = walk.appended.apply
    state = walk.state
    memo = walk.memo  # empty but on a resume
    limit = walk.limit
    failure: RecordError | None = None
    name = ""
    try:
        for step, name in enumerate(chain, 1):
            # each node runs once, so its iteration is 0, and the walk's count is the step
            if step > limit:
                raise walk.past_limit(name)
            run = (step, name, 0)
            if memo and walk.replay(run) is not None:
                continue
            started = time.perf_counter()
            delta = await walk.call(name, 0)
            if APPEND_KEYS.isdisjoint(delta):
                state.update(delta)  # what apply does with keys that are not appended
            else:
                apply(delta, run)
            walk.finish(run, delta, {}, started)
    except (Exception, KeyboardInterrupt, SystemExit) as exc:
        failure = await record_failure(exc, walk.record_id, name)
    if failure is not None:
        raise failure
    return walk.state
