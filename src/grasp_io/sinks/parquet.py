"""The ``parquet`` sink: one part file per write, merged into a single file at the end."""

from __future__ import annotations

import os
import re
import shutil
import threading
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from grasp_core.errors import SinkError
from grasp_core.plugin import CommitToken
from grasp_io._fs import coerce_config, fsync_dir, resolve_path
from grasp_io._media_columns import MediaKind, embed_stored_media
from grasp_io.sinks._unwritable import cannot_write

__all__ = ["ParquetSink", "ParquetSinkConfig"]

# pyarrow takes about 0.3 s to import, so ``_arrow`` is imported where parquet is used.

_PART_NAME = re.compile(r"part-(\d{6,})\.parquet")


class ParquetSinkConfig(BaseModel):
    """``data_config.sink`` for a Parquet file."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["parquet"]
    """Selects the Parquet sink."""

    file_path: str
    """The output file. A relative path resolves against the folder of the task file;
    missing folders are created. It appears only when the run finishes, and not at all
    when the run wrote no records."""

    alias: str | None = None
    """This sink's name when `sink` is a list (required there, unique); the journal keys its
    commits by it."""

    fsync: bool = False
    """Force every write to disk before it is committed: survives a power cut, costs speed."""

    ordered: bool = False
    """Write records in source order rather than as they finish (as `grasp run --ordered`):
    a finished record waits for those before it, within the run's window."""

    media: dict[str, MediaKind] | None = None
    """Columns to store as Hugging Face ``Image`` or ``Audio`` features
    (``{column: image|audio}``). Columns whose values are ``{"bytes", "path"}`` dicts of a
    recognisable image or audio format are found without it."""


class ParquetSink:
    """Writes each batch to ``<name>.parts/part-NNNNNN.parquet``, then merges the parts.

    Tokens are ``{"part": "part-000001.parquet", "count": <records>}`` (``part`` is
    ``None`` for an empty write). :meth:`restore` deletes every part no token names; after
    a finished run (parts merged and gone) it cuts the output back into its parts, so a
    resume can add records.
    :meth:`finalize` streams the parts, part by part, into the target under the union of
    their schemas and removes the parts folder; with no records there is no schema, so no
    file is written and it returns ``[]``.
    """

    config_model: ClassVar[type[BaseModel]] = ParquetSinkConfig

    def __init__(
        self, path: Path, *, fsync: bool = False, media: dict[str, MediaKind] | None = None
    ) -> None:
        self.path = path
        self.parts_dir = path.with_name(f"{path.name}.parts")
        self.fsync = fsync
        self.media = dict(media or {})
        self._unsynced: list[str] = []
        self._parts: list[str] = []
        self._next = 1
        self._restored = False
        self._finished: list[Path] | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: BaseModel, base_dir: Path) -> ParquetSink:
        """Build the sink from its config; nothing is touched until :meth:`restore`."""
        cfg = coerce_config(config, ParquetSinkConfig)
        return cls(resolve_path(cfg.file_path, base_dir), fsync=cfg.fsync, media=cfg.media)

    def __repr__(self) -> str:
        return f"ParquetSink({str(self.path)!r})"

    def restore(self, committed: list[CommitToken]) -> None:
        """Keep only committed parts; with none committed, also drop a previous output.

        Committed parts that are gone while the output exists mean the run was finalized:
        the output is cut back into those parts, so the resume can add records.
        """
        from grasp_io.sinks import _arrow

        with self._lock:
            parts = [_committed_part(token, self.path) for token in committed]
            names = [name for name, _ in parts if name is not None]
            try:
                gone = any(not (self.parts_dir / name).is_file() for name in names)
                reopen = gone and self.path.is_file()
                self.parts_dir.mkdir(parents=True, exist_ok=True)
                for entry in self.parts_dir.iterdir():
                    if entry.name not in names:
                        _remove(entry)
                if not names:
                    self.path.unlink(missing_ok=True)
            except OSError as exc:
                raise SinkError(f"cannot prepare {self.parts_dir}: {exc.strerror or exc}") from exc
            if reopen:  # parts are deleted only once merged: cut the output back into them
                committed_parts = [(self.parts_dir / n, c) for n, c in parts if n is not None]
                _arrow.split_merged(self.path, committed_parts, fsync=self.fsync)
            for name, count in parts:
                if name is not None and _arrow.count_rows(self.parts_dir / name) != count:
                    raise SinkError(
                        f"the parquet part {self.parts_dir / name} does not hold the {count} "
                        "rows the journal committed; it was modified by hand. restore it "
                        "from a copy to resume, or start afresh"
                    )
            self._parts = names
            self._next = 1 + max((_part_number(name) for name in names), default=0)
            self._restored = True
            self._finished = None

    def write(self, records: list[dict[str, Any]]) -> CommitToken:
        """Write ``records`` as the next part file (atomically) and return its token."""
        from grasp_io.sinks import _arrow

        with self._lock:
            if not self._restored:
                raise SinkError(f"{self.path} is not open; call restore() before write()")
            if not records:
                return {"part": None, "count": 0}
            name = f"part-{self._next:06d}.parquet"
            records = embed_stored_media(records, self.path.parent)
            _arrow.write_part(records, self.parts_dir / name, fsync=self.fsync, media=self.media)
            if self.fsync:
                fsync_dir(self.parts_dir)
            self._parts.append(name)
            if not self.fsync:
                self._unsynced.append(name)
            self._next += 1
            return {"part": name, "count": len(records)}

    def cannot_write(self, record: dict[str, Any]) -> str | None:
        """Why ``record`` cannot be a parquet row: text that is not Unicode (Arrow strings
        are UTF-8), an integer too long for text; None when it can."""
        return cannot_write(record, sink="parquet", int64=True)

    def sync(self) -> None:
        """Force the part files written since the last sync (and their folder) to disk."""
        with self._lock:
            pending, self._unsynced = self._unsynced, []
            for name in pending:
                try:
                    with (self.parts_dir / name).open("rb") as handle:
                        os.fsync(handle.fileno())
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    raise SinkError(f"cannot sync {self.parts_dir / name}: {exc}") from exc
            if pending:
                fsync_dir(self.parts_dir)

    def finalize(self) -> list[Path]:
        """Merge the parts into the target and remove them; return ``[]`` with no records."""
        from grasp_io.sinks import _arrow

        with self._lock:
            if self._finished is not None:
                return list(self._finished)
            if not self._restored:
                raise SinkError(f"{self.path} is not open; call restore() before finalize()")
            if self._parts:
                parts = [self.parts_dir / name for name in self._parts]
                _arrow.merge_parts(parts, self.path, fsync=self.fsync, media=self.media)
            try:
                shutil.rmtree(self.parts_dir)
            except OSError as exc:
                raise SinkError(
                    f"wrote {self.path} but cannot remove {self.parts_dir}: "
                    f"{exc.strerror or exc}; delete it by hand"
                ) from exc
            self._restored = False
            self._finished = [self.path] if self._parts else []
            return list(self._finished)

    def close(self) -> None:
        """Nothing stays open between writes; parts are kept for a later :meth:`restore`."""


def _committed_part(token: CommitToken, path: Path) -> tuple[str | None, int]:
    name, count = token.get("part"), token.get("count")
    valid_name = name is None or (isinstance(name, str) and _PART_NAME.fullmatch(name))
    if "part" in token and valid_name and isinstance(count, int) and not isinstance(count, bool):
        return name, count
    raise SinkError(
        f"commit token {token!r} for {path} is not a parquet part token; the journal "
        "was written by another sink type, so this run cannot resume into this output"
    )


def _part_number(name: str) -> int:
    match = _PART_NAME.fullmatch(name)
    return int(match.group(1)) if match else 0


def _remove(entry: Path) -> None:
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry)
    else:
        entry.unlink()
