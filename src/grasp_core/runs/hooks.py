"""``RunHooks``: the seams where an executor adapts a local run to its part of a larger
run (the Ray executor's shards lease backend slots, read a shard of the source and post
progress to a board). The defaults change nothing; a local run uses them as they are."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

from grasp_core.engine import Engine
from grasp_core.observe.metrics import RunMetrics
from grasp_core.protocols import BuildEnv, Source, SourceItem

__all__ = ["RunHooks"]


class RunHooks:
    """Override what a part of a larger run does differently; each default is a no-op."""

    def env(self, env: BuildEnv) -> BuildEnv:
        """The build environment nodes see (e.g. backends whose slots are leased)."""
        return env

    def source(self, source: Source) -> Source:
        """The source this run reads (e.g. one shard of it)."""
        return source

    def items(self, items: Iterator[SourceItem], *, data_less: bool) -> Iterator[SourceItem]:
        """The records this run processes, after the start/limit window."""
        return items

    @contextlib.asynccontextmanager
    async def around_engine(self, engine: Engine, metrics: RunMetrics) -> AsyncIterator[None]:
        """Entered while the engine runs (e.g. to post progress elsewhere)."""
        yield
