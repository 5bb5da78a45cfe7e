"""``sample``: a seeded random subset, by fraction (streaming) or by count (reservoir)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import ClassVar, Self

from pydantic import BaseModel, Field, model_validator

from grasp_core.plugin import SourceItem, StrictModel, TransformEnv
from grasp_io._fs import coerce_config
from grasp_io.transforms._base import unit_hash

__all__ = ["SampleParams", "SampleRecords"]


class SampleParams(StrictModel):
    """``params`` of ``sample``: exactly one of ``fraction`` and ``n``."""

    fraction: float | None = Field(default=None, gt=0, le=1)
    """Keep each record with this probability, decided from its id and the seed alone: the
    input streams, and the same records are kept on every run and in any order."""
    n: int | None = Field(default=None, ge=0)
    """Keep exactly this many records (all when there are fewer), chosen uniformly by
    reservoir sampling and yielded in input order. Holds ``n`` records in memory and yields
    nothing before the input ends."""
    seed: int | None = None
    """Seed of the draw (default: the run's seed)."""

    @model_validator(mode="after")
    def _one_of(self) -> Self:
        if (self.fraction is None) == (self.n is None):
            raise ValueError("give exactly one of `fraction` (0 < f <= 1) and `n` (a count)")
        return self


class SampleRecords:
    """Keeps a random subset of records with their ids; error items are always kept, so
    they are counted."""

    config_model: ClassVar[type[BaseModel]] = SampleParams

    def __init__(self, *, seed: int, fraction: float | None = None, n: int | None = None) -> None:
        self.seed = seed
        self.fraction = fraction
        self.n = n

    @classmethod
    def from_config(cls, config: BaseModel, env: TransformEnv) -> SampleRecords:
        params = coerce_config(config, SampleParams)
        seed = env.seed if params.seed is None else params.seed
        return cls(seed=seed, fraction=params.fraction, n=params.n)

    def apply(self, items: Iterator[SourceItem]) -> Iterator[SourceItem]:
        if self.n is not None:
            return self._reservoir(items, self.n)
        return self._by_fraction(items)

    def count(self, items: int) -> int | None:
        """``n`` of ``items`` (all when fewer); None for a fraction, which depends on ids."""
        return None if self.n is None else min(self.n, items)

    def _by_fraction(self, items: Iterator[SourceItem]) -> Iterator[SourceItem]:
        assert self.fraction is not None
        for item in items:
            if item.error is not None or unit_hash(self.seed, "sample", item.record_id) < (
                self.fraction
            ):
                yield item

    def _reservoir(self, items: Iterator[SourceItem], size: int) -> Iterator[SourceItem]:
        rng = random.Random(f"{self.seed}:sample")
        chosen: list[tuple[int, SourceItem]] = []
        seen = 0
        for item in items:
            if item.error is not None:
                yield item
                continue
            if len(chosen) < size:
                chosen.append((seen, item))
            else:
                slot = rng.randrange(seen + 1)
                if slot < size:
                    chosen[slot] = (seen, item)
            seen += 1
        for _, item in sorted(chosen, key=lambda pair: pair[0]):
            yield item
