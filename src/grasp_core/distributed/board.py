"""Per-shard progress: shards post their counts, the driver reads them (a Ray actor body)."""

from __future__ import annotations

__all__ = ["ProgressBoard"]


class ProgressBoard:
    """The latest counts each shard posted."""

    def __init__(self) -> None:
        self._counts: dict[int, dict[str, int]] = {}

    def update(self, shard: int, counts: dict[str, int]) -> None:
        self._counts[shard] = dict(counts)

    def snapshot(self) -> dict[int, dict[str, int]]:
        return {shard: dict(counts) for shard, counts in self._counts.items()}
