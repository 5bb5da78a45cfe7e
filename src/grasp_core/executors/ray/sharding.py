"""Which records a shard processes: a part of the source, or of a data-less index range."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from grasp_core.protocols import Source, SourceItem
from grasp_core.sourcing import RoundRobinShard

__all__ = ["shard_items", "shard_source"]


def shard_source(source: Source, index: int, count: int) -> Source:
    """Shard ``index`` of ``count`` of ``source``: its own ``shard`` method when it has one
    (a disk file splits by byte or row ranges), else every ``count``-th record of the full
    stream (each shard reads the whole input; needed after transforms and joins)."""
    if count == 1:
        return source
    split = getattr(source, "shard", None)
    if callable(split):
        part: Source = split(index, count)
        return part
    return RoundRobinShard(source, index, count)


def shard_items(items: Iterator[SourceItem], index: int, count: int) -> Iterator[SourceItem]:
    """Every ``count``-th item from ``index`` on (data-less runs: ids ``index``, ``index +
    count``...)."""
    return itertools.islice(items, index, None, count)
