"""The ``servicenow`` sink: rows written to a ServiceNow table through the Table API
(``POST`` inserts, ``PATCH /<sys_id>`` updates), with SyGra's keys.

Exactly once without a transaction: every write is matched by a key before it is sent, so
a batch replayed after a crash (written, but not yet in the journal) updates the rows it
already wrote instead of adding them again. ``insert`` matches on the record's own id
(``key_field``, default ``id``, which GraSP's output keeps), ``update`` and ``upsert`` on
``key_field`` (default ``sys_id``). So :meth:`ServiceNowSink.restore` has nothing to undo.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel

from grasp_core.errors import SinkError
from grasp_core.plugin import CommitToken, get_logger
from grasp_io._fs import coerce_config
from grasp_io._servicenow import ServiceNowConnection, TableClient, as_text

__all__ = ["ServiceNowSink", "ServiceNowSinkConfig"]

_log = get_logger(__name__)
_LOOKUP_CHUNK = 50
"""Keys looked up per request (an ``IN`` query stays well under URL length limits)."""


class ServiceNowSinkConfig(ServiceNowConnection):
    """``data_config.sink`` for a ServiceNow table (SyGra's keys)."""

    type: Literal["servicenow"]
    """Selects the ServiceNow sink."""
    operation: Literal["insert", "update", "upsert"] = "insert"
    """`insert` new rows, `update` existing rows found by `key_field` (a row with no match is
    skipped, with a warning), or `upsert` (update the match, else insert)."""
    key_field: str | None = None
    """The field rows are matched on: default `id` for `insert` (the record id, so a replayed
    batch never duplicates rows), `sys_id` for `update` and `upsert`."""
    prefix_fields: bool = True
    """On custom tables (`u_...`), write field `x` as column `u_x` (as SyGra does); fields
    starting with `u_` or `sys_` are kept."""
    alias: str | None = None
    """This sink's name when `sink` is a list (required there, unique)."""


class ServiceNowSink:
    """Writes rows to a table; tokens count what each write inserted and updated."""

    config_model: ClassVar[type[BaseModel]] = ServiceNowSinkConfig
    nested_as_text: ClassVar[bool] = True
    """Lists and dicts are stored as JSON text (ServiceNow fields hold scalars)."""

    def __init__(self, config: ServiceNowSinkConfig) -> None:
        self.config = config
        default_key = "id" if config.operation == "insert" else "sys_id"
        self.key_field = config.key_field or default_key
        self._client: TableClient | None = None
        TableClient(config, SinkError).close()  # settings checked now, not mid-run

    @classmethod
    def from_config(cls, config: BaseModel, base_dir: Path) -> ServiceNowSink:
        """Build the sink; the instance and credentials are checked, nothing is sent."""
        return cls(coerce_config(config, ServiceNowSinkConfig))

    def __repr__(self) -> str:
        return f"ServiceNowSink(table={self.config.table!r}, operation={self.config.operation!r})"

    def column(self, field: str) -> str:
        """The table column of ``field`` (``u_`` added on custom tables, see ``prefix_fields``)."""
        custom = self.config.table.startswith("u_") and self.config.prefix_fields
        if custom and not field.startswith(("u_", "sys_")):
            return f"u_{field}"
        return field

    def restore(self, committed: list[CommitToken]) -> None:
        """Connect and check the table answers; nothing to undo (writes are matched by key)."""
        self.close()
        self._client = TableClient(self.config, SinkError)
        self._client.list({"sysparm_limit": "1", "sysparm_fields": "sys_id"})

    def cannot_write(self, record: dict[str, Any]) -> str | None:
        """A row without its key cannot be matched, so it could be written twice."""
        value = record.get(self.key_field)
        if value is None or value == "":
            return (
                f"the servicenow sink matches rows on {self.key_field!r} and this record has "
                f"none; keep {self.key_field!r} in the output or set `key_field`"
            )
        return None

    def write(self, records: list[dict[str, Any]]) -> CommitToken:
        """Insert or update every row (matched by key first); return the counts."""
        client = self._client
        if client is None:
            raise SinkError(f"{self!r} is not open; call restore() before write()")
        keys = [str(record[self.key_field]) for record in records]
        found = self._existing(client, keys)
        counts = {"inserted": 0, "updated": 0, "missing": 0}
        for key, record in zip(keys, records, strict=True):
            row = {self.column(name): as_text(value) for name, value in record.items()}
            sys_id = found.get(key)
            if sys_id is not None:
                client.update(sys_id, row)
                counts["updated"] += 1
            elif self.config.operation == "update":
                counts["missing"] += 1
                _log.warning(
                    f"servicenow table {self.config.table!r} has no row with "
                    f"{self.column(self.key_field)}={key!r}; nothing updated (use operation: "
                    "upsert to insert such rows)",
                    table=self.config.table,
                )
            else:
                found[key] = str(client.insert(row).get("sys_id", ""))
                counts["inserted"] += 1
        return {"count": len(records), **counts}

    def _existing(self, client: TableClient, keys: list[str]) -> dict[str, str]:
        """``key → sys_id`` of the rows already in the table."""
        column = self.column(self.key_field)
        unique = list(dict.fromkeys(keys))
        listable = [k for k in unique if "," not in k]
        queries = [
            f"{column}IN{','.join(_escape(k) for k in listable[i : i + _LOOKUP_CHUNK])}"
            for i in range(0, len(listable), _LOOKUP_CHUNK)
        ]
        queries += [f"{column}={_escape(k)}" for k in unique if "," in k]
        found: dict[str, str] = {}
        for query in queries:
            rows, _ = client.list(
                {
                    "sysparm_query": query,
                    "sysparm_fields": f"sys_id,{column}",
                    "sysparm_limit": str(_LOOKUP_CHUNK * 2),
                }
            )
            for row in rows:
                found.setdefault(str(_value(row.get(column))), str(_value(row.get("sys_id"))))
        return found

    def finalize(self) -> list[Path]:
        """Close the connection; a table is not a file, so no path is returned."""
        self.close()
        return []

    def close(self) -> None:
        """Close the connection."""
        if self._client is not None:
            self._client.close()
            self._client = None


def _escape(value: str) -> str:
    return value.replace("^", "^^")


def _value(value: Any) -> Any:
    return value.get("value") if isinstance(value, Mapping) else value
