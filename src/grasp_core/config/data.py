"""``data_config``: where records come from and where they go."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from grasp_core.config._base import StrictModel
from grasp_core.config.source_options import check_single_source, check_source_list

__all__ = ["DataConfig"]


def _check_plugin_block(value: Any, what: str) -> Any:
    blocks = value if isinstance(value, list) else [value]
    for block in blocks:
        if not isinstance(block, dict) or "type" not in block:
            raise ValueError(f"each {what} needs a `type` key (for example `type: jsonl`)")
    return value


class DataConfig(StrictModel):
    """Source, sink and size of the run. No source means a data-less run."""

    source: dict[str, Any] | list[dict[str, Any]] | None = None
    """Where records come from (`type: disk` with `file_path`...), with optional
    `transformations`; a list of blocks with `alias` and `join_type` joins several sources.
    Omit for data-less runs."""
    sink: dict[str, Any] | list[dict[str, Any]] | None = None
    """Where output records go (`type: jsonl|json|csv|parquet|hf` with `file_path`); a list
    of blocks, each with a unique `alias`, writes every record to every sink."""
    num_records: int | None = Field(default=None, ge=0)
    """How many records a data-less run generates (or the most taken from the source, counted
    after its transforms and joins)."""
    start_index: int = Field(default=0, ge=0)
    """Skip this many source records first (counted after transforms and joins)."""
    id_column: str = "id"
    """Field that holds a record's stable id; records without it use their position."""

    @field_validator("source")
    @classmethod
    def _source(cls, value: Any) -> Any:
        if value is None:
            return None
        _check_plugin_block(value, "source")
        if isinstance(value, list):
            check_source_list(value)
        else:
            check_single_source(value)
        return value

    @field_validator("sink")
    @classmethod
    def _sink(cls, value: Any) -> Any:
        if value is None:
            return None
        _check_plugin_block(value, "sink")
        if isinstance(value, list):
            _check_sink_list(value)
        return value


_RESERVED_SINK_NAMES = frozenset({"failures"})
"""Journal names of the run's own sinks, which an alias may not take."""


def _check_sink_list(blocks: list[dict[str, Any]]) -> None:
    """Several sinks: each needs its own ``alias`` (its name in the journal) and file."""
    if not blocks:
        raise ValueError("the list of sinks is empty; give at least one sink block")
    aliases: dict[str, int] = {}
    paths: dict[str, int] = {}
    for index, block in enumerate(blocks):
        alias = block.get("alias")
        if not isinstance(alias, str) or not alias:
            raise ValueError(
                f"sink {index} (`type: {block['type']}`) needs an `alias`: with several "
                "sinks each is named by its alias (for example `alias: main`)"
            )
        if alias in _RESERVED_SINK_NAMES:
            raise ValueError(f"sink {index}: the alias {alias!r} is reserved; choose another")
        if alias in aliases:
            raise ValueError(
                f"sinks {aliases[alias]} and {index} share the alias {alias!r}; "
                "give every sink a unique alias"
            )
        aliases[alias] = index
        path = block.get("file_path")
        if isinstance(path, str):
            if path in paths:
                raise ValueError(
                    f"sinks {paths[path]} and {index} both write {path!r}; "
                    "give every sink its own file_path"
                )
            paths[path] = index
