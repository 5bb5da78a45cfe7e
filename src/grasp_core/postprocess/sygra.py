"""A SyGra-style processor as a post-process step.

SyGra's ``graph_post_process`` names classes created with ``params`` as keyword arguments,
whose ``process(data, metadata)`` (plain or ``async``) takes the whole list of records and
returns the list to keep. As a step it collects the stream, calls the processor once, and
tells the records it kept from the ones it dropped: by object (the same dict returned), else
by the id field. Every input record missing from the returned list is reported as removed by
the processor. Such a processor holds the whole dataset in memory, as it does in SyGra.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from grasp_core.config.callables import UserCallable
from grasp_core.errors import PluginError, PostProcessError
from grasp_core.postprocess.protocol import Removed, StepEnv, StepOutput
from grasp_core.protocols import SourceItem

__all__ = ["ProcessorStep"]


class ProcessorStep:
    """Runs one processor class over the whole list of records."""

    def __init__(self, name: str, process: UserCallable, env: StepEnv) -> None:
        self.name = name
        self._process = process
        self._env = env
        self._results: dict[str, Any] = {}

    @classmethod
    def create(
        cls, name: str, processor: type, params: Mapping[str, Any], env: StepEnv
    ) -> ProcessorStep:
        """Create the processor with ``params`` as keyword arguments."""
        try:
            instance = processor(**params)
        except Exception as exc:
            given = ", ".join(params) or "none"
            raise PluginError(
                f"cannot create post-process processor {name!r} with params ({given}): "
                f"{type(exc).__name__}: {exc}; check the names under `params`"
            ) from exc
        return cls(name, UserCallable(instance.process, name=f"{name}.process"), env)

    def process(self, items: Iterator[SourceItem]) -> Iterator[StepOutput]:
        records = list(items)
        data = [dict(item.data) for item in records]
        by_object = {id(record): item.record_id for record, item in zip(data, records, strict=True)}
        returned = self._env.run_async(self._process, data, dict(self._env.metadata))
        if not isinstance(returned, list) or not all(isinstance(r, dict) for r in returned):
            raise PostProcessError(
                f"post-process processor {self.name!r}: process() returned "
                f"{type(returned).__name__}, not a list of records (dicts); return the list "
                "of records to keep"
            )
        kept: set[str] = set()
        for position, record in enumerate(returned):
            record_id = by_object.get(id(record)) or self._record_id(record, position)
            kept.add(record_id)
            yield SourceItem(record_id, record)
        reason = f"dropped by {self.name}"
        for item in records:
            if item.record_id not in kept:
                yield Removed(item, reason)
        self._results = {"returned": len(returned)}

    def _record_id(self, record: dict[str, Any], position: int) -> str:
        """The id a returned record carries in its id field; a new record without one is
        named by its place in the returned list."""
        value = record.get(self._env.id_column)
        if value is not None and value != "":
            return str(value)
        return f"{self.name}:{position}"

    def finish(self) -> Mapping[str, Any]:
        return self._results
