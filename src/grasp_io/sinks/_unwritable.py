"""What a sink's format cannot hold (see ``find_unwritable``): the reason behind each sink's
``cannot_write(record)``, which the engine asks so that such a record fails on its own, and
the error a sink raises when it is handed one directly, outside a run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grasp_core.errors import SinkError
from grasp_core.plugin import find_unwritable

__all__ = ["cannot_write", "unwritable_error"]


def cannot_write(
    record: dict[str, Any], *, sink: str, surrogates: bool = True, int64: bool = False
) -> str | None:
    """Why the ``sink`` sink (``"parquet"``...) cannot write ``record``, or None if it can.
    ``surrogates=False`` for sinks that keep lone surrogates (as JSON ``\\u`` escapes);
    ``int64=True`` for Arrow-based sinks, whose integers are 64-bit."""
    found = find_unwritable(record, surrogates=surrogates, int64=int64)
    if found is None:
        return None
    return (
        f"{found}, which the {sink} sink cannot write; fix the value where it comes from "
        "(the source, or the node that made it)"
    )


def unwritable_error(
    records: Sequence[dict[str, Any]],
    path: Path,
    *,
    sink: str,
    surrogates: bool = True,
    int64: bool = False,
) -> SinkError | None:
    """A :class:`SinkError` naming the first record of a batch that ``sink`` cannot write."""
    for index, record in enumerate(records):
        reason = cannot_write(record, sink=sink, surrogates=surrogates, int64=int64)
        if reason is not None:
            return SinkError(f"cannot write record {index} of the batch to {path}: {reason}")
    return None
