"""The ``hf`` source: records from a Hugging Face dataset (hub id, repository folder or a
folder written by ``save_to_disk``).

Rows are read as Arrow batches, never through ``datasets``' feature decoding: an ``Image``
or ``Audio`` column arrives as ``{"bytes": ..., "path": ...}`` dicts, which llm nodes turn
into data URLs and the ``parquet`` and ``hf`` sinks store back as ``Image``/``Audio``.
Decoding audio through ``datasets`` would need torch; this way nothing does.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, field_validator

from grasp_core.errors import ConfigError, SourceError
from grasp_core.plugin import SourceItem
from grasp_io._fs import coerce_config, resolve_path
from grasp_io._hf_token import read_token
from grasp_io.sources._hf_load import DatasetRequest, open_dataset, read_guarded
from grasp_io.sources._ids import IdDigests, id_digest
from grasp_io.sources.disk import _record_id

__all__ = ["HfSource", "HfSourceConfig"]

_BATCH_ROWS = 256
_OPENING = threading.Lock()
"""Held while a source opens its dataset: a progress count and the run's reading may both
ask for it at once, from two threads (a module lock, so sources stay picklable)."""
_PATH_PREFIXES = ("/", "./", "../", "~")


class HfSourceConfig(BaseModel):
    """``data_config.source`` for a Hugging Face dataset."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["hf"]
    """Selects the Hugging Face source."""

    repo_id: str
    """A hub id (``owner/name``) or a local folder: a dataset repository (``data/*.parquet``,
    ``*.jsonl``..., optionally a README declaring configs) or a folder written by
    ``save_to_disk``. A relative folder resolves against the task folder and wins over a
    hub id of the same spelling; start it with ``./`` to insist on a folder."""

    config_name: str | None = None
    """The dataset's configuration (subset), for datasets that have several."""

    split: str | list[str] = "train"
    """The split to read, or a list of splits read one after another (ids by position
    count across them)."""

    streaming: bool = False
    """Stream rows from the files (an ``IterableDataset``) instead of preparing a
    memory-mapped Arrow cache first: starts at once, nothing is copied, but skipping to
    ``start_index`` reads the rows before it."""

    token_env: str | None = None
    """The environment variable holding a Hugging Face token (private or gated datasets).
    By default ``HF_TOKEN`` or a cached ``huggingface-cli login`` is used."""

    revision: str | None = None
    """A branch, tag or commit of the hub repository."""

    cache_dir: str | None = None
    """Where ``datasets`` keeps downloads and Arrow caches (default: its own cache)."""

    id_column: str = "id"
    """The column holding each record's id. Rows without it (or with an empty one) take
    their position as id. Ids must be unique: resume tells records apart by id."""

    alias: str | None = None
    """A name for this source, for tasks that read several sources."""

    @field_validator("split")
    @classmethod
    def _some_split(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list) and not value:
            raise ValueError("give at least one split, for example `split: train`")
        return value


class HfSource:
    """Streams the rows of the chosen splits in order, numbering them from 0.

    ``iter_records(start, limit)`` slices a memory-mapped dataset directly, or skips and
    takes from a streaming one. Repeated ids become error items, as in the disk source.
    :meth:`shard` returns one of ``count`` disjoint parts, for executors that run a part
    per worker; record ids stay the positions in the whole dataset.
    """

    config_model: ClassVar[type[BaseModel]] = HfSourceConfig

    def __init__(
        self,
        request: DatasetRequest,
        *,
        id_column: str = "id",
        shard_of: tuple[int, int] | None = None,
    ) -> None:
        self.request = request
        self.id_column = id_column
        self.shard_of = shard_of
        self._dataset: Any = None

    @classmethod
    def from_config(cls, config: BaseModel, base_dir: Path) -> HfSource:
        """Build the source; a folder that must be local and is missing is an error now,
        but nothing is loaded until the records are read."""
        cfg = coerce_config(config, HfSourceConfig)
        request = DatasetRequest(
            repo_id=cfg.repo_id,
            local=_local_folder(cfg.repo_id, base_dir),
            config_name=cfg.config_name,
            splits=(cfg.split,) if isinstance(cfg.split, str) else tuple(cfg.split),
            streaming=cfg.streaming,
            token=read_token(cfg.token_env, "data_config.source.token_env"),
            revision=cfg.revision,
            cache_dir=None if cfg.cache_dir is None else str(resolve_path(cfg.cache_dir, base_dir)),
        )
        return cls(request, id_column=cfg.id_column)

    def __repr__(self) -> str:
        shard = f", shard={self.shard_of!r}" if self.shard_of else ""
        return f"HfSource({self.request.repo_id!r}, splits={self.request.splits!r}{shard})"

    def shard(self, index: int, count: int) -> HfSource:
        """Part ``index`` of ``count`` disjoint parts that together hold every record.

        A memory-mapped dataset is cut into contiguous ranges; a streaming one deals rows
        round-robin (row ``p`` goes to part ``p % count``), so every part reads the stream.
        ``start`` and ``limit`` stay positions in the whole dataset: the parts' windows
        together hold exactly the records of the unsharded window. Duplicate ids are found
        only within a part.
        """
        if count < 1 or not 0 <= index < count:
            raise ConfigError(f"shard {index!r} of {count!r}: need 0 <= index < count")
        if self.shard_of is not None:
            raise ConfigError(f"{self!r} is already a shard; shard the whole source instead")
        return HfSource(self.request, id_column=self.id_column, shard_of=(index, count))

    def iter_records(self, start: int = 0, limit: int | None = None) -> Iterator[SourceItem]:
        """Yield records from position ``start`` (0-based, in the whole dataset), at most
        ``limit`` of them; a shard yields its own records within that window."""
        if start < 0 or (limit is not None and limit < 0):
            raise ConfigError(f"start and limit must be >= 0, got start={start!r}, limit={limit!r}")
        if limit == 0:
            return
        seen = IdDigests()
        rows = read_guarded(self._rows(self._open(), start, limit), self.request)
        for position, row in rows:
            yield self._to_item(row, position, seen)

    def count(self) -> int | None:
        """How many rows :meth:`iter_records` yields: ``num_rows`` of a memory-mapped
        dataset, the split sizes a streaming dataset's metadata declares (None when it
        declares none); a shard's share of either."""
        import datasets

        dataset = self._open()
        mapped = isinstance(dataset, datasets.Dataset)
        total = len(dataset) if mapped else _declared_rows(dataset, self.request.splits)
        if total is None or self.shard_of is None:
            return total
        index, count = self.shard_of
        if mapped:
            low, high = _contiguous_range(total, index, count)
            return high - low
        return len(range(index, total, count))

    def _open(self) -> Any:
        """The dataset, opened once (a progress count and the records may both ask)."""
        with _OPENING:
            if self._dataset is None:
                self._dataset = open_dataset(self.request)
            return self._dataset

    def _rows(self, dataset: Any, start: int, limit: int | None) -> Iterator[tuple[int, Any]]:
        """Rows of this shard whose positions lie in ``[start, start + limit)``."""
        import datasets

        index, count = self.shard_of or (0, 1)
        end = None if limit is None else start + limit
        if isinstance(dataset, datasets.Dataset):
            low, high = _contiguous_range(len(dataset), index, count)
            begin = max(low, start)
            stop = high if end is None else min(high, end)
            return _table_rows(_slices(dataset.with_format("arrow"), begin, stop), begin, 1)
        first = start + (index - start) % count  # the shard's first position from ``start``
        stream = dataset.with_format("arrow").skip(first)
        if end is not None:
            if first >= end:
                return iter(())
            stream = stream.take(end - first)
        return _table_rows(stream.iter(batch_size=_BATCH_ROWS), first, count)

    def _to_item(self, row: dict[str, Any], position: int, seen: IdDigests) -> SourceItem:
        record_id = _record_id(row, self.id_column, position)
        if not seen.add(id_digest(record_id)):
            return SourceItem(
                f"<row {position}>",
                {},
                f"{self.request.repo_id} row {position}: duplicate id {record_id!r} (an "
                "earlier record has the same id); ids must be unique so resume can tell "
                "records apart (set id_column, or remove it to number rows by position)",
            )
        return SourceItem(record_id, row)


def _local_folder(repo_id: str, base_dir: Path) -> Path | None:
    candidate = resolve_path(repo_id, base_dir)
    if candidate.is_dir():
        return candidate
    if repo_id.startswith(_PATH_PREFIXES) or candidate.exists():
        raise SourceError(
            f"data_config.source.repo_id: {repo_id!r} is not a folder (looked at "
            f"{str(candidate)!r}); point it at a dataset folder, or give a hub id such "
            "as 'owner/name' (relative folders resolve against the task folder)"
        )
    return None


def _declared_rows(dataset: Any, splits: tuple[str, ...]) -> int | None:
    """The rows a streaming dataset's metadata declares for ``splits``, if it declares them."""
    declared = getattr(getattr(dataset, "info", None), "splits", None) or {}
    sizes = [getattr(declared.get(split), "num_examples", None) for split in splits]
    known = [size for size in sizes if isinstance(size, int) and size > 0]
    return sum(known) if known and len(known) == len(sizes) else None


def _contiguous_range(length: int, index: int, count: int) -> tuple[int, int]:
    """Rows of part ``index`` of ``count``, as ``Dataset.shard(contiguous=True)`` cuts them."""
    size, extra = divmod(length, count)
    low = index * size + min(index, extra)
    return low, low + size + (1 if index < extra else 0)


def _slices(arrow_dataset: Any, begin: int, end: int) -> Iterator[Any]:
    for low in range(begin, end, _BATCH_ROWS):
        yield arrow_dataset[low : min(low + _BATCH_ROWS, end)]


def _table_rows(tables: Iterator[Any], first: int, step: int) -> Iterator[tuple[int, Any]]:
    """Rows ``first, first + step, ...`` of the concatenated ``tables`` (which start at
    position ``first``), with their positions."""
    position = first
    offset = 0  # position of the current table's first row, relative to ``first``
    wanted = 0  # the next relative position to yield
    for table in tables:
        rows = table.num_rows
        if step > 1:
            picks = list(range(wanted - offset, rows, step))
            table = table.take(picks) if picks else table.slice(0, 0)
            wanted += step * len(picks)
        else:
            wanted += rows
        for row in table.to_pylist():
            yield position, row
            position += step
        offset += rows
