"""The ``oasst`` source: one record per conversation path of an OpenAssistant export."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from grasp_core.errors import ConfigError, SourceError
from grasp_core.plugin import SourceItem
from grasp_io._fs import coerce_config, resolve_path
from grasp_io.formats.oasst_trees import (
    Message,
    TreeError,
    conversations,
    tree_from_nested,
    tree_from_rows,
)
from grasp_io.sources._ids import IdDigests, id_digest

__all__ = ["OasstSource", "OasstSourceConfig"]


class OasstSourceConfig(BaseModel):
    """``data_config.source`` for an OpenAssistant export (or GraSP's ``--oasst`` output)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["oasst"]
    """Selects the OASST reader."""
    file_path: str
    """A JSONL file (``.jsonl`` or ``.jsonl.gz``) of message rows or of nested trees, or a
    Parquet table of message rows. Relative paths resolve against the task folder."""
    layout: Literal["auto", "messages", "trees"] = "auto"
    """``messages``: one message per line, linked by ``parent_id`` and grouped by
    ``message_tree_id`` (the rows of one tree must be adjacent); ``trees``: one nested tree
    per line (``prompt`` with ``replies``). ``auto`` tells them apart line by line."""
    mode: Literal["sft", "dpo"] = "sft"
    """``sft``: a ``conversation`` per path; ``dpo``: ranked sibling replies become
    ``chosen``/``rejected`` turns (paths without a ranked pair are left out)."""
    branches: Literal["all", "best"] = "all"
    """With ``sft``: every root-to-leaf path, or only paths through best-ranked replies."""
    keep_deleted: bool = False
    """Read messages marked ``deleted`` (and their replies); by default they are skipped."""
    encoding: str = "utf-8"
    """Text encoding of JSONL files."""


class OasstSource:
    """Streams an OASST export tree by tree; a tree that cannot be read becomes one failed
    record naming the file and line, never a crash."""

    config_model: ClassVar[type[BaseModel]] = OasstSourceConfig

    def __init__(self, path: Path, config: OasstSourceConfig) -> None:
        self.path = path
        self.config = config

    @classmethod
    def from_config(cls, config: BaseModel, base_dir: Path) -> OasstSource:
        cfg = coerce_config(config, OasstSourceConfig)
        path = resolve_path(cfg.file_path, base_dir)
        if not path.is_file():
            raise SourceError(
                f"oasst file {str(path)!r} does not exist; check file_path "
                "(relative paths resolve against the task folder)"
            )
        return cls(path, cfg)

    def iter_records(self, start: int = 0, limit: int | None = None) -> Iterator[SourceItem]:
        """Yield records from position ``start``, at most ``limit`` of them."""
        if start < 0 or (limit is not None and limit < 0):
            raise ConfigError(f"start and limit must be >= 0, got start={start!r}, limit={limit!r}")
        yielded = 0
        for position, item in enumerate(self._items()):
            if position < start:
                continue
            if limit is not None and yielded >= limit:
                return
            yield item
            yielded += 1

    def _items(self) -> Iterator[SourceItem]:
        seen = IdDigests()
        for first_line, tree in self._trees():
            if isinstance(tree, str):
                yield SourceItem(f"<line {first_line}>", {}, f"{self.path}:{first_line}: {tree}")
                continue
            paths = conversations(
                tree,
                mode=self.config.mode,
                branches=self.config.branches,
                keep_deleted=self.config.keep_deleted,
            )
            for index, (leaf, record) in enumerate(paths, start=1):
                if not seen.add(id_digest(leaf)):
                    yield SourceItem(
                        f"<line {first_line}, conversation {index}>",
                        {},
                        f"{self.path}:{first_line}: message id {leaf!r} appears in two trees",
                    )
                    continue
                yield SourceItem(leaf, record)

    def _trees(self) -> Iterator[tuple[int, Message | str]]:
        """``(first line, tree root)``, or ``(line, problem)`` for a tree that cannot be read."""
        group: list[tuple[int, Mapping[str, Any]]] = []
        group_key: Any = None
        finished: set[str] = set()
        scattered = False

        def flush() -> Iterator[tuple[int, Message | str]]:
            if group:
                line = group[0][0]
                try:
                    yield line, tree_from_rows(group)
                except TreeError as exc:
                    yield line, f"tree {group_key!r}: {exc}"
                if group_key is not None:
                    finished.add(str(group_key))
                group.clear()

        for line, row in self._rows():
            if isinstance(row, str):
                yield line, row
                continue
            if self._is_tree(row):
                yield from flush()
                try:
                    yield line, tree_from_nested(row)
                except TreeError as exc:
                    yield line, str(exc)
                continue
            key = row.get("message_tree_id")
            starts_tree = key != group_key if key is not None else row.get("parent_id") is None
            if starts_tree:
                yield from flush()
                group_key = key
                scattered = key is not None and str(key) in finished
                if scattered:
                    problem = f"the rows of tree {key!r} are not adjacent; sort by message_tree_id"
                    yield line, problem
            if not scattered:
                group.append((line, row))
        yield from flush()

    def _is_tree(self, row: Mapping[str, Any]) -> bool:
        if self.config.layout == "auto":
            return isinstance(row.get("prompt"), Mapping)
        return self.config.layout == "trees"

    def _rows(self) -> Iterator[tuple[int, Mapping[str, Any] | str]]:
        if self.path.suffix.lower() in (".parquet", ".pq"):
            from grasp_io.sources._parquet import iter_parquet

            for raw in iter_parquet(self.path, encoding=self.config.encoding, skip=0):
                yield raw.number, raw.data if raw.data is not None else str(raw.problem)
            return
        try:
            with self._open() as text:
                for number, line in enumerate(text, start=1):
                    if line.strip():
                        yield number, _parse(line)
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise SourceError(f"cannot read {self.path}: {exc}") from exc

    def _open(self) -> IO[str]:
        if self.path.suffix.lower() == ".gz":
            return gzip.open(self.path, "rt", encoding=self.config.encoding)
        return self.path.open(encoding=self.config.encoding)


def _parse(line: str) -> Mapping[str, Any] | str:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        return f"not valid json ({exc.msg}, column {exc.colno})"
    if not isinstance(value, dict):
        return "expected a json object (a message row or a tree)"
    return value
