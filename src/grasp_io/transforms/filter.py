"""``filter``: keep the records a Python predicate (a dotted path) accepts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from pydantic import BaseModel

from grasp_core.errors import PluginError
from grasp_core.plugin import SourceItem, StrictModel, TransformEnv, load_callable
from grasp_io._fs import coerce_config

__all__ = ["FilterParams", "FilterRecords"]


class FilterParams(StrictModel):
    """``params`` of ``filter``."""

    predicate: str
    """Dotted path to a function ``(record: dict) -> bool`` (or a class with ``apply`` or
    ``__call__``), resolved against the task folder. No expressions are evaluated."""
    keep: bool = True
    """Keep the records the predicate accepts (true) or the ones it rejects (false)."""


class FilterRecords:
    """Keeps records by predicate. A record on which the predicate raises is not dropped:
    it becomes a failed record naming the predicate and the exception."""

    config_model: ClassVar[type[BaseModel]] = FilterParams

    def __init__(
        self, predicate: Callable[[dict[str, Any]], Any], name: str, *, keep: bool
    ) -> None:
        self.predicate = predicate
        self.name = name
        self.keep = keep

    @classmethod
    def from_config(cls, config: BaseModel, env: TransformEnv) -> FilterRecords:
        params = coerce_config(config, FilterParams)
        loaded = load_callable(params.predicate, env.base_dir, what="filter predicate")
        if loaded.is_async:
            raise PluginError(
                f"filter predicate {params.predicate!r} is async; sources are read in a worker "
                "thread, so give a plain function"
            )
        return cls(loaded.fn, params.predicate, keep=params.keep)

    def apply(self, items: Iterator[SourceItem]) -> Iterator[SourceItem]:
        for item in items:
            if item.error is not None:
                yield item
                continue
            try:
                accepted = bool(self.predicate(item.data))
            except Exception as exc:
                yield SourceItem(
                    item.record_id,
                    item.data,
                    f"filter predicate {self.name!r} raised {type(exc).__name__}: {exc}",
                )
                continue
            if accepted == self.keep:
                yield item
