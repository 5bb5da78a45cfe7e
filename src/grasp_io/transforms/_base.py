"""What the built-in transforms share: item-wise mapping that leaves error items alone."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any

from grasp_core.plugin import SourceItem

__all__ = ["OneForOne", "map_data", "unit_hash"]


class OneForOne:
    """A transform that yields one item for each item it reads (a rename, a shuffle), so a
    source's count passes through it unchanged (see ``Transform.count``)."""

    def count(self, items: int) -> int:
        return items


def map_data(
    items: Iterator[SourceItem], change: Callable[[dict[str, Any]], dict[str, Any]]
) -> Iterator[SourceItem]:
    """Yield each item with ``change`` applied to its data (a copy), keeping its id; items
    with an error pass unchanged."""
    for item in items:
        if item.error is not None:
            yield item
        else:
            yield SourceItem(item.record_id, change(dict(item.data)))


def unit_hash(*parts: object) -> float:
    """A number in [0, 1) that depends only on ``parts`` (the same on every run)."""
    text = ":".join(map(str, parts)).encode("utf-8", "surrogatepass")
    digest = hashlib.blake2b(text, digest_size=8).digest()
    return int.from_bytes(digest, "little") / 2**64
