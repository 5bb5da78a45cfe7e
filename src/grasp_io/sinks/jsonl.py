"""The ``jsonl`` sink: one JSON object per line, appended with offset commits."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from grasp_core.errors import SinkError
from grasp_core.plugin import CommitToken, compact_encoder
from grasp_io._fs import coerce_config, resolve_path
from grasp_io._media_columns import json_default
from grasp_io.sinks._appender import AppendFile, appends_quickly
from grasp_io.sinks._unwritable import cannot_write

__all__ = ["JsonlSink", "JsonlSinkConfig", "encode_jsonl"]


class JsonlSinkConfig(BaseModel):
    """``data_config.sink`` for a JSON Lines file."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["jsonl"]
    """Selects the JSON Lines sink."""

    file_path: str
    """The output file. A relative path resolves against the folder of the task file;
    missing folders are created."""

    alias: str | None = None
    """This sink's name when `sink` is a list (required there, unique); the journal keys its
    commits by it."""

    fsync: bool = False
    """Force every write to disk before it is committed: survives a power cut, costs speed."""

    ordered: bool = False
    """Write records in source order rather than as they finish (as `grasp run --ordered`):
    a finished record waits for those before it, within the run's window."""


_encode_utf8 = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=json_default
).encode
_encode_ascii = json.JSONEncoder(
    separators=(",", ":"), allow_nan=False, default=json_default
).encode
"""Encoders built once: ``json.dumps`` with options builds a new one per call. Binary
values (media bytes) are written as base64 strings."""


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinite floats as null: JSON has no token for them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


_encode_fast = compact_encoder(ensure_ascii=False, allow_nan=False, default=json_default)
"""``_encode_utf8``'s text, with its C encoder built once (``JSONEncoder.encode`` builds one
on every call, more than encoding a small record costs)."""


def _encode_record(record: dict[str, Any]) -> bytes:
    try:
        text = _encode_fast(record)
    except ValueError as exc:
        if "Out of range float" not in str(exc):
            raise
        record = _finite(record)
        text = _encode_utf8(record)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: keep it as a \u escape
        return _encode_ascii(record).encode("ascii")


def encode_jsonl(records: Sequence[dict[str, Any]], path: Path) -> bytes:
    """Return ``records`` as UTF-8 JSON Lines (NaN and infinities as null, so strict JSON
    readers accept every line); ``path`` only names the file in errors."""
    lines: list[bytes] = []
    for index, record in enumerate(records):
        try:
            lines.append(_encode_record(record))
        except (TypeError, ValueError) as exc:
            raise SinkError(
                f"cannot write record {index} of the batch to {path} as json: {exc}; "
                "records must hold only json values"
            ) from exc
        lines.append(b"\n")
    return b"".join(lines)


class JsonlSink:
    """Appends records to a JSON Lines file (compact, UTF-8, non-ASCII kept as is).

    Tokens are ``{"offset": <bytes committed>, "count": <records in the write>}``;
    :meth:`restore` truncates the file to the last committed offset.
    """

    config_model: ClassVar[type[BaseModel]] = JsonlSinkConfig

    def __init__(self, path: Path, *, fsync: bool = False) -> None:
        self.path = path
        self._file = AppendFile(path, fsync=fsync)

    @classmethod
    def from_config(cls, config: BaseModel, base_dir: Path) -> JsonlSink:
        """Build the sink from its config; nothing is opened until :meth:`restore`."""
        cfg = coerce_config(config, JsonlSinkConfig)
        return cls(resolve_path(cfg.file_path, base_dir), fsync=cfg.fsync)

    def __repr__(self) -> str:
        return f"JsonlSink({str(self.path)!r})"

    @property
    def quick_writes(self) -> bool:
        """Writes append to a local file without forcing it to disk: the engine may call
        them on the event loop (``grasp_core.engine.sink_writes``)."""
        return appends_quickly(self, JsonlSink.write, fsync=self._file.fsync)

    def restore(self, committed: list[CommitToken]) -> None:
        """Open the file: empty when nothing is committed, else cut back to the last token."""
        self._file.restore(committed)

    def write(self, records: list[dict[str, Any]]) -> CommitToken:
        """Append ``records`` (all or none of them) and return their token."""
        return self._file.append(encode_jsonl(records, self.path), len(records))

    def cannot_write(self, record: dict[str, Any]) -> str | None:
        """Why ``record`` cannot be a JSON line (an integer too long for text), or None.
        A lone surrogate is written as its ``\\u`` escape, which reads back the same."""
        return cannot_write(record, sink="jsonl", surrogates=False)

    def finalize(self) -> list[Path]:
        """Close the file and return it: JSON Lines needs no closing bracket."""
        self._file.close()
        return [self.path]

    def sync(self) -> None:
        """Force what was written so far to disk."""
        self._file.sync()

    def close(self) -> None:
        """Close the file without finalizing."""
        self._file.close()
