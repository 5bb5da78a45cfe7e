"""Which row format a run writes (``--format``, ``--oasst``, ``output_config``), and the guard
that turns a format's mistakes into counted record failures.

Formats themselves are plugins (entry point group ``grasp.formats``, see
:class:`~grasp_core.protocols.RecordFormat`); this module only picks one by name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic_core import PydanticSerializationError

from grasp_core import registry
from grasp_core.config import OutputConfig
from grasp_core.errors import ConfigError, RecordError
from grasp_core.graph.state import json_safe

__all__ = ["RowMapper", "build_row_mapper", "format_flag", "format_label", "select_format"]

RowMapper = Callable[[str, dict[str, Any]], list[dict[str, Any]]]
"""``(record_id, record) -> rows``: what the engine calls after shaping and validation."""


def select_format(
    output_config: OutputConfig | None,
    *,
    oasst: bool | Literal["sft", "dpo"] = False,
    format_name: str | None = None,
) -> str | None:
    """The registered format for this run, or ``None`` to write each record as one row.

    Flags win over the task file: ``--format NAME``, else ``--oasst [sft|dpo]`` (the type
    defaults to ``oasst_mapper.type``, then ``sft``), else ``output_config.format``, else an
    ``oasst_mapper`` with ``required: yes``.
    """
    if oasst and format_name is not None:
        raise ConfigError(
            f"--oasst and --format {format_name!r} both choose the rows to write; pass one"
        )
    mapper = output_config.oasst_mapper if output_config is not None else None
    configured = output_config.format if output_config is not None else None
    if format_name is not None:
        return format_name
    if oasst:
        if mapper is not None and mapper.intermediate_writing:
            raise ConfigError(
                "--oasst with oasst_mapper.intermediate_writing: yes would write only the "
                "mapped rows; run once without --oasst to keep the records, once with it for "
                "the rows (or set intermediate_writing: no)"
            )
        kind = oasst if isinstance(oasst, str) else (mapper.type if mapper else "sft")
        return f"oasst_{kind}"
    if configured is not None and mapper is not None and mapper.required:
        raise ConfigError(
            f"output_config: format {configured!r} and oasst_mapper both choose the rows to "
            "write; keep one (or set oasst_mapper.required: no)"
        )
    if configured is not None:
        return configured
    if mapper is not None and mapper.required:
        return f"oasst_{mapper.type}"
    return None


def format_label(name: str | None) -> str:
    """A run's row format in words, for messages."""
    return f"rows in format {name!r}" if name else "one row per record (no row format)"


def format_flag(name: str | None) -> str:
    """How to ask for the row format ``name`` again."""
    if name:
        return f"--format {name}"
    return "no row format (no --format or --oasst, no output_config.format)"


def build_row_mapper(name: str) -> RowMapper:
    """The format ``name`` wrapped so that whatever goes wrong fails only that record; rows
    come out JSON-safe as shaped records do (dates as ISO text, media bytes kept)."""
    plugin = registry.formats.get(name)
    try:
        instance = plugin()
    except Exception as exc:
        raise ConfigError(
            f"output format {name!r}: building {plugin!r} raised {type(exc).__name__}: {exc}"
        ) from exc

    def rows(record_id: str, record: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            produced = instance.rows(record_id, record)
        except RecordError:
            raise
        except Exception as exc:
            raise RecordError(
                f"record {record_id!r}: output format {name!r} raised {type(exc).__name__}: {exc}"
            ) from exc
        if (
            not isinstance(produced, list)
            or not produced
            or not all(isinstance(row, dict) for row in produced)
        ):
            raise RecordError(
                f"record {record_id!r}: output format {name!r} must return a non-empty list "
                f"of dicts, got {type(produced).__name__}"
            )
        try:
            return [json_safe(row, keep_bytes=True) for row in produced]
        except (PydanticSerializationError, ValueError, UnicodeError) as exc:
            raise RecordError(
                f"record {record_id!r}: output format {name!r} returned a row that is not "
                f"JSON-serialisable ({exc}); return plain data (str, numbers, lists, dicts)"
            ) from None

    return rows
