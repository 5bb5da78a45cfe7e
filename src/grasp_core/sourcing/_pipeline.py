"""A source seen through its transforms, the start/limit window, and round-robin shards."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

from grasp_core.errors import ConfigError
from grasp_core.protocols import Source, SourceItem, Transform

__all__ = [
    "RoundRobinShard",
    "TransformedSource",
    "check_window",
    "count_of",
    "window",
    "windowed_count",
]


def check_window(start: int, limit: int | None) -> None:
    """Refuse a negative start or limit."""
    if start < 0 or (limit is not None and limit < 0):
        raise ConfigError(f"start and limit must be >= 0, got start={start!r}, limit={limit!r}")


def window(items: Iterator[SourceItem], start: int, limit: int | None) -> Iterator[SourceItem]:
    """The items from position ``start``, at most ``limit`` of them (error items count)."""
    return itertools.islice(items, start, None if limit is None else start + limit)


def count_of(source: Source) -> int | None:
    """How many items ``source.iter_records()`` yields, when the source can tell cheaply
    (its optional ``count()``), else None."""
    count = getattr(source, "count", None)
    return count() if callable(count) else None


def windowed_count(total: int | None, start: int, limit: int | None) -> int | None:
    """How many of ``total`` items the window from ``start`` (at most ``limit``) holds."""
    if total is None:
        return None
    left = max(total - start, 0)
    return left if limit is None else min(left, limit)


class TransformedSource:
    """``source``'s records passed through ``transforms`` in order. ``start`` and ``limit``
    count the transformed stream, so the source is read from its beginning."""

    def __init__(self, source: Source, transforms: Sequence[Transform]) -> None:
        self.source = source
        self.transforms = tuple(transforms)

    def __repr__(self) -> str:
        steps = ", ".join(type(t).__name__ for t in self.transforms)
        return f"TransformedSource({self.source!r}, [{steps}])"

    def iter_records(self, start: int = 0, limit: int | None = None) -> Iterator[SourceItem]:
        """Yield transformed records from position ``start``, at most ``limit`` of them."""
        check_window(start, limit)
        if limit == 0:
            return iter(())
        items: Iterator[SourceItem] = iter(self.source.iter_records())
        for transform in self.transforms:
            items = transform.apply(items)
        return window(items, start, limit)

    def count(self) -> int | None:
        """The source's count passed through each transform's optional ``count(items)``;
        None once a step cannot tell (a filter, a sample by fraction)."""
        total = count_of(self.source)
        for transform in self.transforms:
            counted = getattr(transform, "count", None)
            if total is None or not callable(counted):
                return None
            total = counted(total)
        return total


class RoundRobinShard:
    """Shard ``index`` of ``count``: the records at positions ``index``, ``index + count``...
    of ``source``'s stream (after its transforms, joins, start and limit).

    The shards of one source partition exactly the records an unsharded run would process,
    whatever the transforms do (shuffle, combine, skip from the end), because every shard
    reads and transforms the whole input and keeps its share. The cost is that each shard
    parses the whole input.
    """

    def __init__(self, source: Source, index: int, count: int) -> None:
        if count < 1 or not 0 <= index < count:
            raise ConfigError(f"shard {index!r} of {count!r}: need 0 <= index < count")
        self.source = source
        self.index = index
        self.count = count

    def iter_records(self, start: int = 0, limit: int | None = None) -> Iterator[SourceItem]:
        """Yield this shard's records; ``start`` and ``limit`` apply before sharding."""
        items = iter(self.source.iter_records(start=start, limit=limit))
        return itertools.islice(items, self.index, None, self.count)
