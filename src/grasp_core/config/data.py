"""``data_config``: where records come from and where they go."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from grasp_core.config._base import StrictModel

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
    """Where records come from (`type: disk` with `file_path`...). Omit for data-less runs."""
    sink: dict[str, Any] | list[dict[str, Any]] | None = None
    """Where output records go (`type: jsonl|json|csv|parquet` with `file_path`)."""
    num_records: int | None = Field(default=None, ge=0)
    """How many records a data-less run generates (or the most read from a source)."""
    start_index: int = Field(default=0, ge=0)
    """Skip this many source records first."""
    id_column: str = "id"
    """Field that holds a record's stable id; records without it use their position."""

    @field_validator("source")
    @classmethod
    def _source(cls, value: Any) -> Any:
        return _check_plugin_block(value, "source") if value is not None else None

    @field_validator("sink")
    @classmethod
    def _sink(cls, value: Any) -> Any:
        return _check_plugin_block(value, "sink") if value is not None else None
