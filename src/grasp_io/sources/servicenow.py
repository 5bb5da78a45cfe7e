"""The ``servicenow`` source: rows of a ServiceNow table, read page by page through the
Table API (``GET /api/now/table/<table>``), with SyGra's keys (``filters`` or ``query``,
``fields``, ``limit``, ``batch_size``, ``order_by``...)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

from grasp_core.errors import SourceError
from grasp_core.plugin import SourceItem
from grasp_io._fs import coerce_config
from grasp_io._servicenow import ServiceNowConnection, TableClient, encode_filters
from grasp_io.sources.disk import _record_id

__all__ = ["ServiceNowSource", "ServiceNowSourceConfig"]


class ServiceNowSourceConfig(ServiceNowConnection):
    """``data_config.source`` for a ServiceNow table (SyGra's keys)."""

    type: Literal["servicenow"]
    """Selects the ServiceNow source."""
    filters: dict[str, Any] | None = None
    """Conditions joined with AND: `field: value` (equal), `field: [a, b]` (one of),
    `field: {operator: ">=", value: 2}` (`=`, `!=`, `>`, `>=`, `<`, `<=`, `IN`, `NOT IN`,
    `LIKE`, `STARTSWITH`, `ENDSWITH`)."""
    query: str | None = None
    """An encoded query (`active=true^priorityIN1,2`), ANDed with `filters`."""
    fields: list[str] | None = None
    """The fields to read (default: all). Ids come from `id_field`, so keep it listed."""
    limit: int | None = Field(default=None, ge=0)
    """Most rows to read (the run's `--limit` applies on top)."""
    batch_size: int = Field(default=100, ge=1, le=10000)
    """Rows per request."""
    order_by: str | None = None
    """The field to sort by (default `sys_id`, so pages never overlap)."""
    order_desc: bool = False
    """Sort `order_by` descending."""
    display_value: Literal["true", "false", "all"] | bool = False
    """ServiceNow's `sysparm_display_value`: stored values (`false`), display values
    (`true`), or both (`all`: each field is `{value, display_value}`)."""
    exclude_reference_link: bool = True
    """Leave out the API links of reference fields."""
    id_field: str = "sys_id"
    """The field holding each record's id (a row without it takes its position)."""
    alias: str | None = None
    """A name for this source, for tasks that read several sources."""
    streaming: bool = False
    """Accepted for SyGra's tasks: rows are always read page by page."""


class ServiceNowSource:
    """Reads a table page by page; ``count()`` asks the server for the total."""

    config_model: ClassVar[type[BaseModel]] = ServiceNowSourceConfig

    def __init__(self, config: ServiceNowSourceConfig) -> None:
        self.config = config
        TableClient(config, SourceError).close()  # settings checked now, not mid-run

    @classmethod
    def from_config(cls, config: BaseModel, base_dir: Path) -> ServiceNowSource:
        """Build the source; the instance and credentials are checked here."""
        return cls(coerce_config(config, ServiceNowSourceConfig))

    def __repr__(self) -> str:
        return f"ServiceNowSource(table={self.config.table!r})"

    def _params(self) -> dict[str, str]:
        cfg = self.config
        parts = [p for p in (cfg.query, encode_filters(cfg.filters or {})) if p]
        order = cfg.order_by or "sys_id"
        parts.append(f"ORDERBY{'DESC' if cfg.order_desc else ''}{order}")
        params = {
            "sysparm_query": "^".join(parts),
            "sysparm_display_value": str(cfg.display_value).lower(),
            "sysparm_exclude_reference_link": str(cfg.exclude_reference_link).lower(),
        }
        if cfg.fields:
            params["sysparm_fields"] = ",".join(cfg.fields)
        return params

    def count(self) -> int | None:
        """The rows the query matches (``X-Total-Count``), within ``limit``."""
        client = TableClient(self.config, SourceError)
        try:
            _, total = client.list({**self._params(), "sysparm_limit": "1"})
        finally:
            client.close()
        if total is None or self.config.limit is None:
            return total
        return min(total, self.config.limit)

    def iter_records(self, start: int = 0, limit: int | None = None) -> Iterator[SourceItem]:
        """Yield rows from position ``start``, at most ``limit`` (and the config's ``limit``)."""
        end = None if self.config.limit is None else self.config.limit
        if limit is not None:
            end = start + limit if end is None else min(end, start + limit)
        params = self._params()
        client = TableClient(self.config, SourceError)
        try:
            offset = start
            while end is None or offset < end:
                size = (
                    self.config.batch_size
                    if end is None
                    else min(self.config.batch_size, end - offset)
                )
                page = {**params, "sysparm_limit": str(size), "sysparm_offset": str(offset)}
                rows, total = client.list(page)
                for row in rows:
                    yield SourceItem(_record_id(_plain(row), self.config.id_field, offset), row)
                    offset += 1
                if len(rows) < size or (total is not None and offset >= total):
                    return
        finally:
            client.close()


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with ``{value, display_value}`` pairs (``display_value: all``) as values."""
    return {
        key: value["value"] if isinstance(value, dict) and "value" in value else value
        for key, value in row.items()
    }
