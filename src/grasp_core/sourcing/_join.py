"""Several sources as one: secondaries joined to a primary, or sources stacked.

A secondary's record lands in the primary record under the secondary's alias, so prompts
read it as ``{persona.name}`` and ``output_map`` as ``from: persona.name``.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from grasp_core.errors import SourceError
from grasp_core.protocols import Source, SourceItem
from grasp_core.sourcing._pipeline import check_window, count_of, window

__all__ = ["JoinedSource", "Secondary", "SecondaryJoin", "StackedSource"]

SecondaryJoin = Literal["sequential", "random", "cross", "column"]


@dataclass(frozen=True)
class Secondary:
    """A source joined to the primary one."""

    alias: str
    join_type: SecondaryJoin
    source: Source
    primary_key: str | None = None
    join_key: str | None = None


class JoinedSource:
    """The primary source's records, each joined with records of the secondaries in turn.

    - ``sequential``: the n-th primary record gets the secondary's record n, cycling when
      the secondary runs out (read as a stream, re-opened at each cycle).
    - ``random``: a record drawn from the run's seed, the alias and the primary record's id
      alone, so a resumed run pairs every record as before (secondary held in memory).
    - ``cross``: one record per pair, id ``<primary id>|<alias>:<secondary id>``, also
      written to the record's ``id_column`` field, so the output's id is that pair id
      (secondary held in memory).
    - ``column``: the secondary record whose ``join_key`` equals the primary record's
      ``primary_key``, compared as text (secondary held in memory, keyed; its keys must be
      unique). A primary record without a match fails with the reason.

    Other joins keep the primary record's id. Each record gets its own deep copy of the
    secondary record (and, in a cross join, of the primary record), so a step that changes
    one record's data never changes another's. ``start`` and ``limit`` count joined records.
    A bad record in a secondary stops the run (every primary record would depend on it); a
    bad primary record passes through to be counted as failed.
    """

    def __init__(
        self,
        primary: Source,
        secondaries: Sequence[Secondary],
        *,
        seed: int = 0,
        id_column: str = "id",
    ):
        self.primary = primary
        self.secondaries = tuple(secondaries)
        self.seed = seed
        self.id_column = id_column

    def __repr__(self) -> str:
        joined = ", ".join(f"{s.alias}: {s.join_type}" for s in self.secondaries)
        return f"JoinedSource({self.primary!r}, {{{joined}}})"

    def iter_records(self, start: int = 0, limit: int | None = None) -> Iterator[SourceItem]:
        """Yield joined records from position ``start``, at most ``limit`` of them."""
        check_window(start, limit)
        if limit == 0:
            return iter(())
        items: Iterator[SourceItem] = iter(self.primary.iter_records())
        for secondary in self.secondaries:
            items = _JOINS[secondary.join_type](items, secondary, self.seed)
        if any(secondary.join_type == "cross" for secondary in self.secondaries):
            # after every join, so a column join keyed on the id field sees the source's id
            items = (_with_id(item, self.id_column) for item in items)
        return window(items, start, limit)

    def count(self) -> int | None:
        """The primary's count: each primary record yields one joined record, except in a
        cross join (unknown then)."""
        if any(secondary.join_type == "cross" for secondary in self.secondaries):
            return None
        return count_of(self.primary)


class StackedSource:
    """The records of every source, one source after another (``vstack``); each id is
    prefixed with its source's alias (``questions:17``), so ids stay unique. The prefixed id
    is also written to the record's ``id_column`` field, so the output's id is that id."""

    def __init__(self, parts: Sequence[tuple[str, Source]], *, id_column: str = "id") -> None:
        self.parts = tuple(parts)
        self.id_column = id_column

    def __repr__(self) -> str:
        return f"StackedSource({', '.join(alias for alias, _ in self.parts)})"

    def iter_records(self, start: int = 0, limit: int | None = None) -> Iterator[SourceItem]:
        """Yield stacked records from position ``start``, at most ``limit`` of them."""
        check_window(start, limit)
        if limit == 0:
            return iter(())
        stacked = (
            _with_id(SourceItem(f"{alias}:{item.record_id}", item.data, item.error), self.id_column)
            for alias, source in self.parts
            for item in source.iter_records()
        )
        return window(stacked, start, limit)

    def count(self) -> int | None:
        """The sum of the parts' counts, when every part can tell."""
        counts = [count_of(source) for _, source in self.parts]
        return None if None in counts else sum(c for c in counts if c is not None)


def _with_id(item: SourceItem, id_column: str) -> SourceItem:
    """``item`` whose ``id_column`` field holds its record id (a derived one, such as
    ``a:17``), which the output keeps as the record's id."""
    if id_column in item.data:
        data = {**item.data, id_column: item.record_id}
    else:
        data = {id_column: item.record_id, **item.data}
    return SourceItem(item.record_id, data, item.error)


def _nest(
    item: SourceItem, alias: str, partner: SourceItem, record_id: str, *, shared: bool = False
) -> SourceItem:
    """``item`` with a deep copy of ``partner``'s data under ``alias``; ``shared``: the
    primary record is joined more than once, so its data is copied too."""
    if alias in item.data:
        return SourceItem(
            record_id,
            item.data,
            f"record {item.record_id!r} already has a field {alias!r}, where source {alias!r} "
            "would be joined; rename the field (rename_fields) or choose another alias",
        )
    data = copy.deepcopy(item.data) if shared else dict(item.data)
    data[alias] = copy.deepcopy(partner.data)
    return SourceItem(record_id, data)


def _checked(secondary: Secondary, item: SourceItem) -> SourceItem:
    if item.error is not None:
        raise SourceError(
            f"secondary source {secondary.alias!r}: {item.error}; every primary record may be "
            "joined with it, so fix it (or filter it out with a transform) before running"
        )
    return item


def _load(secondary: Secondary) -> list[SourceItem]:
    pool = [_checked(secondary, item) for item in secondary.source.iter_records()]
    if not pool:
        raise _empty(secondary)
    return pool


def _empty(secondary: Secondary) -> SourceError:
    return SourceError(
        f"secondary source {secondary.alias!r} has no records (after its transforms), so no "
        f"record can be joined with it ({secondary.join_type}); check its file and transforms"
    )


def _sequential(
    items: Iterator[SourceItem], secondary: Secondary, seed: int
) -> Iterator[SourceItem]:
    partners = _cycle(secondary)
    for item in items:
        yield (
            item
            if item.error is not None
            else _nest(item, secondary.alias, next(partners), item.record_id)
        )


def _cycle(secondary: Secondary) -> Iterator[SourceItem]:
    while True:
        count = 0
        for item in secondary.source.iter_records():
            count += 1
            yield _checked(secondary, item)
        if count == 0:
            raise _empty(secondary)


def _pooled(
    items: Iterator[SourceItem], secondary: Secondary
) -> Iterator[tuple[SourceItem, list[SourceItem] | None]]:
    """Each item with the secondary's records (loaded on the first readable item), or with
    None for an error item, which passes through unjoined."""
    pool: list[SourceItem] | None = None
    for item in items:
        if item.error is not None:
            yield item, None
            continue
        pool = pool if pool is not None else _load(secondary)
        yield item, pool


def _random(items: Iterator[SourceItem], secondary: Secondary, seed: int) -> Iterator[SourceItem]:
    for item, pool in _pooled(items, secondary):
        if pool is None:
            yield item
            continue
        text = f"{seed}:{secondary.alias}:{item.record_id}".encode("utf-8", "surrogatepass")
        draw = int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little")
        yield _nest(item, secondary.alias, pool[draw % len(pool)], item.record_id)


def _cross(items: Iterator[SourceItem], secondary: Secondary, seed: int) -> Iterator[SourceItem]:
    for item, pool in _pooled(items, secondary):
        if pool is None:
            yield item
            continue
        for partner in pool:
            pair_id = f"{item.record_id}|{secondary.alias}:{partner.record_id}"
            yield _nest(item, secondary.alias, partner, pair_id, shared=True)


def _column(items: Iterator[SourceItem], secondary: Secondary, seed: int) -> Iterator[SourceItem]:
    assert secondary.primary_key is not None
    assert secondary.join_key is not None
    index: dict[str, SourceItem] | None = None
    for item in items:
        if item.error is not None:
            yield item
            continue
        index = index if index is not None else _keyed(secondary)
        if secondary.primary_key not in item.data:
            yield SourceItem(
                item.record_id,
                item.data,
                f"record {item.record_id!r} has no field {secondary.primary_key!r} "
                f"(primary_key of the column join with {secondary.alias!r})",
            )
            continue
        key = _as_key(item.data[secondary.primary_key])
        partner = index.get(key)
        if partner is None:
            yield SourceItem(
                item.record_id,
                item.data,
                f"no record of source {secondary.alias!r} has {secondary.join_key} = {key!r} "
                f"(the {secondary.primary_key!r} of record {item.record_id!r})",
            )
        else:
            yield _nest(item, secondary.alias, partner, item.record_id)


def _keyed(secondary: Secondary) -> dict[str, SourceItem]:
    join_key = secondary.join_key
    assert join_key is not None
    index: dict[str, SourceItem] = {}
    for item in _load(secondary):
        if join_key not in item.data:
            raise SourceError(
                f"secondary source {secondary.alias!r}: record {item.record_id!r} has no "
                f"field {join_key!r} (its join_key)"
            )
        key = _as_key(item.data[join_key])
        if key in index:
            raise SourceError(
                f"secondary source {secondary.alias!r}: records {index[key].record_id!r} and "
                f"{item.record_id!r} both have {join_key} = {key!r}; a column join needs "
                "unique keys in the secondary source"
            )
        index[key] = item
    return index


def _as_key(value: Any) -> str:
    """Join keys compare as text, so a CSV's "7" matches a JSON file's 7."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


_JOINS = {
    "sequential": _sequential,
    "random": _random,
    "cross": _cross,
    "column": _column,
}
