"""``shuffle``: a seeded shuffle, through a bounded buffer (streaming) or of the whole input."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import ClassVar

from pydantic import BaseModel, Field

from grasp_core.plugin import SourceItem, StrictModel, TransformEnv
from grasp_io._fs import coerce_config
from grasp_io.transforms._base import OneForOne

__all__ = ["ShuffleParams", "ShuffleRecords"]


class ShuffleParams(StrictModel):
    """``params`` of ``shuffle``."""

    buffer_size: int = Field(default=10_000, ge=1)
    """Records held at a time. Each record read takes the place of one drawn at random from
    the buffer, so a record moves at most about this far; memory stays bounded."""
    exact: bool = False
    """Read the whole input into memory and shuffle it uniformly (ignores `buffer_size`)."""
    seed: int | None = None
    """Seed of the shuffle (default: the run's seed)."""


class ShuffleRecords(OneForOne):
    """Reorders records (ids unchanged, so resume is unaffected by the order); the same
    seed and input give the same order. Error items pass through as they come."""

    config_model: ClassVar[type[BaseModel]] = ShuffleParams

    def __init__(self, *, seed: int, buffer_size: int | None) -> None:
        self.seed = seed
        self.buffer_size = buffer_size

    @classmethod
    def from_config(cls, config: BaseModel, env: TransformEnv) -> ShuffleRecords:
        params = coerce_config(config, ShuffleParams)
        seed = env.seed if params.seed is None else params.seed
        return cls(seed=seed, buffer_size=None if params.exact else params.buffer_size)

    def apply(self, items: Iterator[SourceItem]) -> Iterator[SourceItem]:
        rng = random.Random(f"{self.seed}:shuffle")
        buffer: list[SourceItem] = []
        for item in items:
            if item.error is not None:
                yield item
            elif self.buffer_size is None or len(buffer) < self.buffer_size:
                buffer.append(item)
            else:
                slot = rng.randrange(len(buffer))
                yield buffer[slot]
                buffer[slot] = item
        rng.shuffle(buffer)
        yield from buffer
