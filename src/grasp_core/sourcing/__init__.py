"""Source assembly: ``data_config.source`` (one block or several) with transforms, joins,
the start/limit window and shards, composed from :class:`~grasp_core.protocols.Source`
objects. The runner and the Ray executor both build their records here."""

from grasp_core.sourcing._build import build_source, record_items, transform_type
from grasp_core.sourcing._join import JoinedSource, Secondary, StackedSource
from grasp_core.sourcing._pipeline import (
    RoundRobinShard,
    TransformedSource,
    count_of,
    windowed_count,
)

__all__ = [
    "JoinedSource",
    "RoundRobinShard",
    "Secondary",
    "StackedSource",
    "TransformedSource",
    "build_source",
    "count_of",
    "record_items",
    "transform_type",
    "windowed_count",
]
