"""Interfaces that node types, sources and sinks implement.

``grasp_core`` never imports a concrete node, source or sink: it finds them through
entry points (see :mod:`grasp_core.registry`) and talks to them through these protocols.
Sources and sinks are synchronous on purpose: the engine runs them in worker threads,
so plugin authors write plain blocking file code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pydantic import BaseModel

if TYPE_CHECKING:
    from grasp_core.config.yaml_source import YamlDocument, YamlPath
    from grasp_core.models.backends import BackendPool
    from grasp_core.models.cache import ResponseCache
    from grasp_core.models.catalog import ModelCatalog
    from grasp_core.observe.metrics import RunMetrics

__all__ = [
    "BuildEnv",
    "CommitToken",
    "Embedder",
    "EmbedderFactory",
    "Node",
    "NodeContext",
    "NodeType",
    "ReadsState",
    "RecordFormat",
    "Sink",
    "SinkType",
    "Source",
    "SourceItem",
    "SourceType",
    "Transform",
    "TransformEnv",
    "TransformType",
    "new_node_context",
]

CommitToken = dict[str, Any]
"""What a sink returns after a durable write; the journal stores it verbatim."""


@dataclass(frozen=True, slots=True)
class SourceItem:
    """One record read from a source.

    ``record_id`` is stable across runs (an ``id`` field, else the source position).
    When the source could not parse the record, ``data`` is empty and ``error`` says
    why (with file and line), so the record is counted as failed rather than lost.
    """

    record_id: str
    data: dict[str, Any]
    error: str | None = None


@runtime_checkable
class Source(Protocol):
    """A stream of records. ``iter_records`` must not load the whole input in memory.

    A source may also define ``shard(index: int, count: int) -> Source`` (optional, so not
    part of this protocol's required methods): the part of the records that shard ``index``
    of ``count`` processes, read without loading the rest (a byte range, row groups, a
    dataset shard). The ``count`` shards must partition the source exactly, and their
    records keep the ids of an unsharded read; ``iter_records(start, limit)`` on a shard
    applies ``start`` and ``limit`` to the whole source's positions, then keeps the shard's
    records. The Ray executor uses it; a source without it is split round-robin, each
    shard reading the whole input.

    It may also define ``count() -> int | None`` (optional too): how many items
    ``iter_records()`` yields, error items included, when that is cheap to learn without
    parsing the records (the lines of a JSONL file, a Parquet footer, a dataset's
    ``num_rows``), else None. Live progress shows a total, a bar and an ETA from it; it is
    called in another thread while the run reads the records, and may be left unfinished.
    """

    def iter_records(self, start: int = 0, limit: int | None = None) -> Iterator[SourceItem]:
        """Yield records from position ``start``, at most ``limit`` of them."""
        ...


class SourceType(Protocol):
    """A registered source class (entry point group ``grasp.sources``)."""

    config_model: type[BaseModel]

    @classmethod
    def from_config(cls, config: BaseModel, base_dir: Path) -> Source: ...


@runtime_checkable
class Transform(Protocol):
    """One step over a source's stream of items, configured under ``transformations``.

    ``apply`` is lazy: it pulls items as it yields them and holds only what it needs
    (a lookahead buffer, a shuffle buffer), unless its documentation says it reads the
    whole input first. Items with ``error`` set pass through unchanged. A record mapped
    1:1 keeps its id; a record made from several gets an id derived from theirs, the same
    on every run, since resume tells records apart by id.

    A transform may also define ``count(items: int) -> int | None``: how many items it yields
    from ``items`` input items (as many for a 1:1 mapping, fewer for a skip), or None when
    that depends on the records (a filter); the run's progress total is built from it.
    """

    def apply(self, items: Iterator[SourceItem]) -> Iterator[SourceItem]:
        """Yield the transformed stream."""
        ...


@dataclass(frozen=True, slots=True)
class TransformEnv:
    """What a transform may use while it is built from its config."""

    base_dir: Path
    """The task's folder (dotted paths such as filter predicates resolve against it)."""
    seed: int = 0
    """The run's seed: shuffles and samples without their own ``seed`` derive from it."""


class TransformType(Protocol):
    """A registered transform class (entry point group ``grasp.transforms``)."""

    config_model: type[BaseModel]
    """Validates the ``params`` block."""

    @classmethod
    def from_config(cls, config: BaseModel, env: TransformEnv) -> Transform: ...


@runtime_checkable
class Sink(Protocol):
    """Where finished records go. Every method may block; the engine calls it in a thread,
    except the ``write`` of a sink with ``quick_writes = True`` (an attribute, optional):
    one that only appends to a local file without forcing it to disk. The engine calls that
    on the event loop, sparing a thread hand-off per batch, for as long as the writes stay
    quick (``grasp_core.engine.sink_writes``).

    Exactly-once writing rests on :meth:`restore`: after a crash the engine hands back the
    tokens the journal committed, and the sink must return to exactly that state (truncate
    an appended file, delete uncommitted part files). A sink may also define ``sync()``,
    forcing what it wrote to disk; the engine calls it on its fsync policy, before the
    journal's own sync. And it may define ``cannot_write(record) -> str | None``: why its
    format cannot hold ``record`` (``find_unwritable`` finds the usual cases), else None.
    The engine asks it on the event loop (so it must be quick and touch no files) for every
    row before writing: a row it refuses fails its record alone, not the whole write. A sink
    that writes lists and dicts as text (JSON in a CSV cell) sets the class attribute
    ``nested_as_text = True``; a run whose row format has ``nested_columns`` is then refused.
    """

    def restore(self, committed: list[CommitToken]) -> None:
        """Open the sink; with ``committed`` tokens, discard anything written after them."""
        ...

    def write(self, records: list[dict[str, Any]]) -> CommitToken:
        """Write records durably (flushed to the OS) and return a token describing the write."""
        ...

    def finalize(self) -> list[Path]:
        """Complete the output (merge parts, close arrays) and return the files written."""
        ...

    def close(self) -> None:
        """Release file handles without finalizing (used on interruption)."""
        ...


@runtime_checkable
class RecordFormat(Protocol):
    """Maps one validated output record to the rows written for it (``grasp.formats``).

    A registered format is a class built with no arguments. The engine writes every row of
    a record in the same sink commit, so a record is never half-written. A record that
    cannot be mapped raises ``RecordError`` saying why; it is counted as failed.

    Two optional class attributes let a run refuse a mismatch before its first model call:
    ``required_fields`` (``tuple[str, ...]``), the record fields every row is made from, so
    a task whose output records cannot have them is refused; and ``nested_columns``
    (``tuple[str, ...]``), the row columns holding lists or dicts, so a sink that stores
    them as text (a sink with ``nested_as_text = True``, such as ``csv``) is refused.
    """

    def rows(self, record_id: str, record: dict[str, Any]) -> list[dict[str, Any]]:
        """The rows for one record (at least one)."""
        ...


class SinkType(Protocol):
    """A registered sink class (entry point group ``grasp.sinks``)."""

    config_model: type[BaseModel]

    @classmethod
    def from_config(cls, config: BaseModel, base_dir: Path) -> Sink: ...


@dataclass(slots=True)
class BuildEnv:
    """What a node type may use while it is built from its config (once per run).

    ``shared`` holds per-run objects that several nodes use (model clients, sessions);
    objects with an async ``aclose`` are closed when the run ends.
    """

    task_dir: Path
    models: ModelCatalog
    backends: BackendPool
    metrics: RunMetrics
    task_data: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    """The run's seed; random choices derive from it, the record id and the node."""
    document: YamlDocument | None = None
    """The YAML file this graph came from (for error locations)."""
    graph_root: tuple[str | int, ...] = ("graph_config",)
    """YAML path of the graph being built inside ``document``."""
    subgraph_chain: tuple[str, ...] = ()
    """Graphs being built, outermost first (a graph that includes itself is an error)."""
    shared: dict[str, Any] = field(default_factory=dict)
    media_dir: Path | None = None
    """Where nodes that make media store it: ``NAME.media`` beside the run's first sink
    (records hold paths relative to its parent). None when the run writes no output."""
    cache: ResponseCache | None = None
    """The run's response cache (None: ``--no-cache``); model clients consult it before
    each call."""
    batch_dir: Path | None = None
    """Where batched models keep the run's batch ledger (``NAME.batches`` beside the first
    sink). None when the run writes no output."""


@dataclass(frozen=True, slots=True)
class NodeContext:
    """What a node sees of the run while it processes one record."""

    record_id: str
    node: str
    iteration: int
    multiturn: bool = False
    """Whether llm nodes send the record's earlier ``messages`` with their prompt."""
    chat_history_window: int | None = None
    """With ``multiturn``, how many of the latest history messages to send."""
    seed: int = 0
    """The run's seed (recorded in the journal, so a resumed run draws the same values)."""
    run_graph: Callable[[Any, dict[str, Any], str], Awaitable[dict[str, Any]]] | None = None
    """Runs an inner graph (one that ``compile_graph`` made) for this record from the given
    state; its node runs are journaled as ``prefix.node``. Typed loosely on purpose: this
    interface sits below the graph package, which implements it."""

    def rng_seed(self) -> str:
        """A seed for ``random.Random`` unique to this run, record, node and iteration."""
        return f"{self.seed}:{self.record_id}:{self.node}:{self.iteration}"


class _NewContext:
    """Makes a :class:`NodeContext` at about half the cost of its constructor, for the walk,
    which makes one per node run: the frozen dataclass's ``__init__`` parses keywords and
    sets each field through ``object.__setattr__``. This class has the same slots, sets them
    as any class does, then makes the object a ``NodeContext`` (``__class__`` may change
    between classes of the same slots): from then on it is the frozen dataclass's own, equal
    to and hashing as the one its constructor makes."""

    __slots__ = NodeContext.__slots__

    def __init__(
        self,
        record_id: str,
        node: str,
        iteration: int,
        multiturn: bool,
        chat_history_window: int | None,
        seed: int,
        run_graph: Callable[[Any, dict[str, Any], str], Awaitable[dict[str, Any]]] | None,
    ) -> None:
        self.record_id = record_id
        self.node = node
        self.iteration = iteration
        self.multiturn = multiturn
        self.chat_history_window = chat_history_window
        self.seed = seed
        self.run_graph = run_graph
        self.__class__ = NodeContext  # type: ignore[assignment]


_init = _NewContext.__init__.__code__
if _init.co_varnames[1 : _init.co_argcount] != tuple(NodeContext.__dataclass_fields__):
    # pragma: no cover - a field added to NodeContext must be set there too
    raise TypeError("NodeContext's fields changed: set each of them in _NewContext")

new_node_context: Callable[..., NodeContext] = _NewContext  # type: ignore[assignment]
"""``NodeContext(record_id, node, iteration, multiturn, chat_history_window, seed,
run_graph)``, every field given by position: the same object, made in about half the time."""


@runtime_checkable
class Node(Protocol):
    """A built node: reads the record state and returns the keys it updates.

    The engine stores a JSON-safe copy of each update (the journal and a resume must see
    what the state saw). A node whose every update is already that sets the optional
    class attribute ``fresh_updates = True``: ``run`` returns a new ``dict`` of JSON data
    only (``str``, ``int``, ``float``, ``bool``, ``None``, and new lists and dicts of them)
    that nothing else holds or changes later. The engine then stores it as it is, without
    the copy, unless the node has a ``pre_process`` or ``post_process`` hook.
    """

    name: str

    @property
    def output_keys(self) -> tuple[str, ...]:
        """State keys this node may write (used for the parallel-write check)."""
        ...

    async def run(self, state: Mapping[str, Any], ctx: NodeContext) -> Mapping[str, Any]:
        """Process one record; return the state update. Raise ``RecordError`` to fail it."""
        ...


@runtime_checkable
class ReadsState(Protocol):
    """A node that says which state keys it reads (optional: nodes without it are not checked).

    Before the first model call, ``grasp validate`` and every run check each key against
    what can be in the state when the node runs: the data's columns and the ``output_keys``
    of the nodes that can run before it. A name nothing provides is an error at its line.
    """

    def input_keys(self) -> Mapping[str, YamlPath]:
        """Each state key the node reads, as written (``{a.b}`` reads ``a.b``: the key
        ``a``, or a key named ``a.b``), with where it is read, relative to the node's block
        (``("prompt", 1)``; ``()`` for the node as a whole). Keys read only when present
        (``state.get``) are not listed."""
        ...


class NodeType(Protocol):
    """A registered node class (entry point group ``grasp.nodes``)."""

    config_model: type[BaseModel]

    @classmethod
    def build(cls, name: str, config: Any, env: BuildEnv) -> Node: ...


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors for one models-file entry: a remote embeddings route or a
    local model. Built by the ``grasp.embedders`` entry point ``default`` (an
    :class:`EmbedderFactory`); post-process steps get one from ``StepEnv.embedder``."""

    name: str
    """The model's name in the models file."""

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order. Any number of texts: the embedder splits them into
        requests of its batch size and sends those under the backend's limits and retries;
        raise ``ModelCallError`` when that fails. Texts must not be empty."""
        ...

    async def aclose(self) -> None:
        """Release connections; the embedder may be used again afterwards (it reconnects)."""
        ...


class EmbedderFactory(Protocol):
    """Builds the :class:`Embedder` of a models-file entry, checking the entry now (an
    unknown model, a route without embeddings, a local model whose package is missing)."""

    def __call__(self, model: str, env: BuildEnv, *, batch_size: int = 64) -> Embedder: ...
