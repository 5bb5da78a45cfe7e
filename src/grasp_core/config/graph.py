"""``graph_config``: nodes, edges and graph options."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from grasp_core.config._base import StrictModel
from grasp_core.logs import get_logger

__all__ = [
    "EdgeConfig",
    "GraphConfig",
    "GraphProperties",
    "NodeConfig",
    "OutputKeys",
    "RetryConfig",
]

StateKey = Annotated[str, Field(min_length=1)]
"""A state key: any non-empty text."""
OutputKeys = StateKey | list[StateKey] | None
_log = get_logger(__name__)


class RetryConfig(StrictModel):
    """A node's own retry policy for model calls, over the models file's."""

    max_retries: int = Field(ge=0)
    """Retries of a failed model call made by this node."""


class NodeConfig(StrictModel):
    """Keys every node type accepts; each node type extends this with its own."""

    node_type: str
    """The registered node type: `llm`, `lambda`, or a third-party type."""
    output_keys: OutputKeys = None
    """State key(s) this node writes. A single string is one key."""
    pre_process: str | Callable[..., Any] | None = None
    """Dotted path to `f(state) -> dict` run before the node; its updates are stored."""
    post_process: str | Callable[..., Any] | None = None
    """Dotted path to `f(result, state) -> dict`: gets the node's result, returns what to store."""
    description: str | None = None
    """Free text for humans and graph pictures."""
    node_state: Literal["active", "idle"] = "active"
    """`idle` skips the node's work for every record; its edges pass through."""
    timeout: float | None = Field(default=None, gt=0)
    """Seconds one run of this node may take; longer fails the record."""
    retry: RetryConfig | None = None
    """This node's retry policy for model calls (overrides the models file)."""

    def output_key_list(self) -> list[str]:
        """``output_keys`` as a list (empty when unset)."""
        keys = self.output_keys
        if keys is None:
            return []
        return [keys] if isinstance(keys, str) else list(keys)


class EdgeConfig(StrictModel):
    """A simple edge (`from`, `to`) or a conditional one (`from`, `condition`, `path_map`)."""

    from_: str = Field(alias="from")
    """Source node, or `START`."""
    to: str | None = None
    """Target node, or `END` (simple edges)."""
    condition: str | Callable[..., Any] | None = None
    """Dotted path to `f(state) -> label`, or to a class with `apply(state)`/`__call__`."""
    path_map: dict[str, str] | None = None
    """Label returned by `condition` → node name or `END`."""

    @model_validator(mode="after")
    def _one_kind(self) -> EdgeConfig:
        if self.condition is None and self.to is None:
            raise ValueError("an edge needs `to` (simple edge) or `condition` with `path_map`")
        if self.condition is not None and self.to is not None:
            raise ValueError("an edge has either `to` or `condition`, not both")
        if self.condition is not None and not self.path_map:
            raise ValueError("a conditional edge needs a non-empty `path_map` (label: node)")
        if self.condition is None and self.path_map is not None:
            raise ValueError("`path_map` needs a `condition` that returns one of its labels")
        return self


class GraphProperties(StrictModel):
    """Options that shape how every record walks the graph."""

    chat_conversation: Literal["singleturn", "multiturn"] = "singleturn"
    """`multiturn` sends earlier `messages` of the record along with each llm prompt."""
    chat_history_window_size: int = Field(default=5, ge=1)
    """With `multiturn`, how many of the latest history messages are sent."""
    recursion_limit: int = Field(default=25, ge=1)
    """Most node runs one record may take (bounds loops); exceeding it fails the record."""

    @model_validator(mode="before")
    @classmethod
    def _sygra_settings(cls, data: Any) -> Any:
        """SyGra's `retry_chat_injection` is read by its tasks' own hooks through SyGra's
        API; GraSP has no such API, so the setting is accepted and left out, with a note."""
        if isinstance(data, dict) and "retry_chat_injection" in data:
            data = {k: v for k, v in data.items() if k != "retry_chat_injection"}
            _log.info(
                "graph_properties.retry_chat_injection is SyGra's setting for its hooks; "
                "GraSP ignores it (hooks keep their retry state in the record's keys)"
            )
        return data


class GraphConfig(GraphProperties):
    """The graph: named nodes, the edges between them, and graph options."""

    nodes: dict[str, dict[str, Any]]
    """Node name → node config; `node_type` picks the type, which validates the rest."""
    edges: list[EdgeConfig]
    """Edges between nodes; `START` and `END` are implicit."""
    graph_properties: GraphProperties | None = None
    """The same options as above, grouped (as some task files write them)."""

    @field_validator("nodes")
    @classmethod
    def _names(cls, nodes: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        if not nodes:
            raise ValueError("a graph needs at least one node")
        for reserved in ("START", "END"):
            if reserved in nodes:
                raise ValueError(f"{reserved!r} is implicit and cannot be a node name")
        for name in nodes:
            if "." in name or "@" in name:
                raise ValueError(
                    f"node name {name!r} contains '.' or '@', which the journal uses for "
                    "nodes inside subgraphs (`outer.inner`, `outer@1.inner`); rename it"
                )
        return nodes

    @model_validator(mode="after")
    def _one_place_for_options(self) -> GraphConfig:
        if self.graph_properties is not None:
            doubled = self.model_fields_set & set(GraphProperties.model_fields)
            if doubled:
                raise ValueError(
                    f"{', '.join(sorted(doubled))} set both here and in graph_properties; keep one"
                )
        return self

    def properties(self) -> GraphProperties:
        """The effective options (a `graph_properties` block wins over top-level keys)."""
        if self.graph_properties is not None:
            return self.graph_properties
        return GraphProperties(
            chat_conversation=self.chat_conversation,
            chat_history_window_size=self.chat_history_window_size,
            recursion_limit=self.recursion_limit,
        )
