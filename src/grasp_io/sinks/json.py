"""The ``json`` sink: one JSON array, assembled from a staging JSONL file at the end."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from grasp_core.errors import SinkError
from grasp_core.plugin import CommitToken
from grasp_io._fs import coerce_config, discard, fsync_dir, resolve_path
from grasp_io.sinks._appender import appends_quickly
from grasp_io.sinks._unwritable import cannot_write
from grasp_io.sinks.jsonl import JsonlSink

__all__ = ["JsonArraySink", "JsonArraySinkConfig"]


class JsonArraySinkConfig(BaseModel):
    """``data_config.sink`` for a JSON file holding one array of records."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["json"]
    """Selects the JSON array sink."""

    file_path: str
    """The output file. A relative path resolves against the folder of the task file;
    missing folders are created. It appears only when the run finishes."""

    alias: str | None = None
    """This sink's name when `sink` is a list (required there, unique); the journal keys its
    commits by it."""

    fsync: bool = False
    """Force every write to disk before it is committed: survives a power cut, costs speed."""

    ordered: bool = False
    """Write records in source order rather than as they finish (as `grasp run --ordered`):
    a finished record waits for those before it, within the run's window."""


class JsonArraySink:
    """Writes a JSON array without holding the records in memory.

    Records are appended to ``.<name>.staging.jsonl`` beside the target, with the same
    offset tokens as :class:`~grasp_io.sinks.JsonlSink`. :meth:`finalize` streams the
    staging file into ``<name>.tmp`` as an array (one record per line, ``[]`` when
    empty), renames it onto the target and deletes the staging file.
    """

    config_model: ClassVar[type[BaseModel]] = JsonArraySinkConfig

    def __init__(self, path: Path, *, fsync: bool = False) -> None:
        self.path = path
        self.staging_path = path.with_name(f".{path.name}.staging.jsonl")
        self.fsync = fsync
        self._staging = JsonlSink(self.staging_path, fsync=fsync)
        self._finalized = False

    @classmethod
    def from_config(cls, config: BaseModel, base_dir: Path) -> JsonArraySink:
        """Build the sink from its config; nothing is opened until :meth:`restore`."""
        cfg = coerce_config(config, JsonArraySinkConfig)
        return cls(resolve_path(cfg.file_path, base_dir), fsync=cfg.fsync)

    def __repr__(self) -> str:
        return f"JsonArraySink({str(self.path)!r})"

    @property
    def quick_writes(self) -> bool:
        """As the JSON Lines sink's: writes append to the staging file."""
        return appends_quickly(self, JsonArraySink.write, fsync=self.fsync)

    def restore(self, committed: list[CommitToken]) -> None:
        """Open the staging file: empty it, or cut it back to the last committed token.

        Committed records without a staging file mean the run was finalized: the array is
        turned back into the staging file, so the resume can add records.
        """
        if committed and not self.staging_path.exists() and self.path.is_file():
            self._reopen()
        self._staging.restore(committed)
        self._finalized = False

    def write(self, records: list[dict[str, Any]]) -> CommitToken:
        """Append ``records`` (all or none of them) to the staging file; return their token."""
        return self._staging.write(records)

    def cannot_write(self, record: dict[str, Any]) -> str | None:
        """Why ``record`` cannot be in the array: as for :class:`~grasp_io.sinks.JsonlSink`."""
        return cannot_write(record, sink="json", surrogates=False)

    def finalize(self) -> list[Path]:
        """Turn the staging file into the target array; idempotent once it has succeeded."""
        if self._finalized:
            return [self.path]
        self._staging.close()
        temporary = self.path.with_name(f"{self.path.name}.tmp")
        try:
            self._assemble(temporary)
            os.replace(temporary, self.path)
            if self.fsync:
                fsync_dir(self.path.parent)
            self.staging_path.unlink()
        except FileNotFoundError as exc:
            raise SinkError(
                f"the staging file {self.staging_path} is missing; call restore() before "
                "finalize(), and leave staging files alone while a run can still resume"
            ) from exc
        except OSError as exc:
            discard(temporary)
            raise SinkError(f"cannot write {self.path}: {exc.strerror or exc}") from exc
        self._finalized = True
        return [self.path]

    def sync(self) -> None:
        """Force the staged records to disk."""
        self._staging.sync()

    def close(self) -> None:
        """Close the staging file without finalizing; the target is left as it was."""
        self._staging.close()

    def _assemble(self, temporary: Path) -> None:
        with self.staging_path.open("rb") as lines, temporary.open("wb") as out:
            separator = b"[\n"
            for line in lines:
                record = line.rstrip(b"\r\n")
                if record:
                    out.write(separator)
                    out.write(record)
                    separator = b",\n"
            out.write(b"[]\n" if separator == b"[\n" else b"\n]\n")
            out.flush()
            if self.fsync:
                os.fsync(out.fileno())

    def _reopen(self) -> None:
        """Undo :meth:`_assemble`: one record a line between ``[`` and ``]`` back to JSONL."""
        temporary = self.staging_path.with_name(f"{self.staging_path.name}.tmp")
        try:
            with self.path.open("rb") as array, temporary.open("wb") as out:
                opening = array.readline().rstrip(b"\r\n")
                closed = opening == b"[]"
                if opening == b"[":
                    for line in array:
                        record = line.rstrip(b"\r\n")
                        if record == b"]":
                            closed = True
                            break
                        out.write(record.removesuffix(b",") + b"\n")
            if not closed:
                temporary.unlink()
                raise SinkError(
                    f"cannot reopen {self.path} to resume: it is not laid out as this sink "
                    "writes it (one record a line between '[' and ']'). restore the file, "
                    "or start the run afresh"
                )
            os.replace(temporary, self.staging_path)
        except SinkError:
            raise
        except OSError as exc:
            raise SinkError(f"cannot reopen {self.path}: {exc.strerror or exc}") from exc
