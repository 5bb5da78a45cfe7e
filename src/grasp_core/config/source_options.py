"""The keys GraSP reads from every source block, whatever its ``type``.

A source block (``data_config.source``, or each item of a list of them) holds the keys of
its source type (``file_path``...) plus these: an ``alias`` and a ``join_type`` when several
sources are combined, the keys of a ``column`` join, and ``transformations``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal, get_args

from pydantic import Field

from grasp_core.config._base import StrictModel

__all__ = [
    "JOIN_TYPES",
    "JoinType",
    "SourceOptions",
    "TransformSpec",
    "check_single_source",
    "check_source_list",
]

JoinType = Literal["primary", "sequential", "random", "cross", "column", "vstack"]
JOIN_TYPES: tuple[str, ...] = get_args(JoinType)


class TransformSpec(StrictModel):
    """One step of a source's ``transformations`` list."""

    transform: str
    """A transform name (`rename_fields`, `skip_records`...; SyGra's class names such as
    `RenameFieldsTransform` work too) or a dotted path to a transform class."""
    params: dict[str, Any] = Field(default_factory=dict)
    """The transform's settings; each transform documents its own."""


class SourceOptions(StrictModel):
    """The source-type-independent keys of a source block."""

    alias: str | None = None
    """The source's name; required when ``data_config.source`` is a list. A secondary source's
    record lands in the primary record under this key (`{persona.name}` in a prompt)."""
    join_type: JoinType | None = None
    """How this source combines with the others: `primary` (exactly one: the records the run
    processes), `sequential`, `random`, `cross`, `column` (secondaries), or `vstack` (every
    source of the list: their records one after another)."""
    primary_key: str | None = None
    """With `join_type: column`: the primary record's field to match."""
    join_key: str | None = None
    """With `join_type: column`: this source's field that ``primary_key`` is matched against."""
    transformations: list[TransformSpec] = Field(default_factory=list)
    """Steps applied in order to this source's records as they stream."""

    @classmethod
    def keys(cls) -> frozenset[str]:
        """The keys this model reads from a source block."""
        return frozenset(cls.model_fields)


def check_single_source(block: dict[str, Any]) -> None:
    """Raise ``ValueError`` when a lone source block asks to be joined with others."""
    join_type = block.get("join_type")
    if join_type not in (None, "primary", "vstack"):
        raise ValueError(
            f"join_type {join_type!r} joins this source with others, but it is the only one; "
            "make `source` a list with a `primary` source, or remove join_type"
        )


def check_source_list(blocks: list[Any]) -> None:
    """Raise ``ValueError`` naming the item when a list of source blocks cannot be joined:
    an alias missing or repeated, an unknown join type, a `column` join without its keys,
    or not exactly one `primary` (unless every source is `vstack`)."""
    for index, block in enumerate(blocks):
        alias = block.get("alias")
        if not isinstance(alias, str) or not alias:
            raise ValueError(
                f"item {index} has no `alias`; every source of a list needs one "
                "(for example `alias: persona`)"
            )
        join_type = block.get("join_type")
        if join_type not in JOIN_TYPES:
            shown = "no `join_type`" if join_type is None else f"join_type {join_type!r}"
            raise ValueError(
                f"source {alias!r} (item {index}) has {shown}; use one of {', '.join(JOIN_TYPES)}"
            )
        if join_type == "column":
            missing = [key for key in ("primary_key", "join_key") if not block.get(key)]
            if missing:
                raise ValueError(
                    f"source {alias!r} (item {index}) has join_type 'column' but no "
                    f"{' and '.join(f'`{key}`' for key in missing)}; name the primary record's "
                    "field (primary_key) and this source's field (join_key) to match"
                )
    repeated = sorted(
        alias for alias, seen in Counter(b["alias"] for b in blocks).items() if seen > 1
    )
    if repeated:
        raise ValueError(f"the aliases {repeated!r} are used by more than one source; rename them")
    kinds = [b["join_type"] for b in blocks]
    if all(kind == "vstack" for kind in kinds):
        return
    if "vstack" in kinds:
        raise ValueError(
            "`vstack` stacks every source of the list, so it cannot be mixed with other "
            "join types; make every source `vstack`, or use one `primary` and secondaries"
        )
    primaries = [b["alias"] for b in blocks if b["join_type"] == "primary"]
    if len(primaries) != 1:
        found = f"{len(primaries)} ({', '.join(map(repr, primaries))})" if primaries else "none"
        raise ValueError(
            f"a list of sources needs exactly one with `join_type: primary`, found {found}; "
            "the primary source's records are the ones the run processes"
        )
