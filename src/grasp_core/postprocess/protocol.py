"""What a post-process step implements and what it may use.

A step is built once per post-process from its settings (``StepType.from_config``) and
sees the dataset as a stream: ``process`` pulls records and yields the ones it keeps (as
they are, or changed: a flag added), and a :class:`Removed` for each record it takes out,
with the reason and the facts behind it (the record it duplicates, the similarity). The
runner writes every ``Removed`` to ``NAME.removed.jsonl``, so nothing disappears silently.
When the whole stream has gone through, ``finish`` returns the step's aggregate results
(counts, metrics), which go into the run's summary and ``metrics.json``.

Steps are synchronous, like sources and sinks: the runner drives them record by record in
one thread, and a step holds only what its algorithm needs (a dedup index, not the
records). A step that needs every record at once (a SyGra processor) collects them itself.
A step that calls models uses :meth:`StepEnv.run_async` to await a client, and writes any
file of its own through :meth:`StepEnv.file`, so that it appears with the curated output,
all at once.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

import anyio
import anyio.from_thread
from pydantic import BaseModel

from grasp_core.errors import ConfigError
from grasp_core.protocols import SourceItem

if TYPE_CHECKING:
    from grasp_core.models.catalog import ModelCatalog
    from grasp_core.protocols import BuildEnv, Embedder

__all__ = ["Removed", "Step", "StepEnv", "StepOutput", "StepType"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Removed:
    """A record a step takes out of the dataset, and why (a line of ``NAME.removed.jsonl``)."""

    item: SourceItem
    reason: str
    """A short phrase, the same for every record removed for that reason: `exact
    duplicate`, `near duplicate`, `benchmark overlap`."""
    details: Mapping[str, Any] = field(default_factory=dict)
    """JSON-safe facts that show why: `duplicate_of` (the id of the record kept in its
    place), `similarity`, a matched span..."""


StepOutput = SourceItem | Removed
"""What a step yields: a record it keeps, or one it removes."""


@runtime_checkable
class Step(Protocol):
    """One post-process step, built for one pass over a dataset."""

    def process(self, items: Iterator[SourceItem]) -> Iterator[StepOutput]:
        """Yield each record to keep (possibly changed; new records need new ids) and a
        :class:`Removed` for each one taken out. Pull lazily and hold no more than the
        algorithm needs."""
        ...

    def finish(self) -> Mapping[str, Any]:
        """The step's aggregate results once every record went through (JSON-safe; empty
        when it has none). Called after ``process`` is exhausted. A ``headline`` entry (one
        short line of text) is printed by ``grasp run`` and ``grasp curate``."""
        ...


class StepType(Protocol):
    """A registered step class (entry point group ``grasp.postprocess``)."""

    config_model: type[BaseModel]
    """Validates the step's settings (the mapping under its name in ``post_process``)."""

    @classmethod
    def from_config(cls, config: BaseModel, env: StepEnv) -> Step: ...


class StepEnv:
    """What a step may use while it is built and while it runs."""

    def __init__(
        self,
        *,
        base_dir: Path,
        files: Callable[[str], Path],
        seed: int = 0,
        id_column: str = "id",
        models: ModelCatalog | None = None,
        metadata: Mapping[str, Any] | None = None,
        from_loop: bool = False,
    ) -> None:
        self.base_dir = base_dir
        """The task's folder (the working folder for ``grasp curate``): dotted paths and
        relative files resolve against it."""
        self.seed = seed
        """The run's seed; random choices (MinHash permutations...) derive from it."""
        self.id_column = id_column
        """The field holding a record's id."""
        self.models = models
        """The run's models (``grasp curate``: those of ``--models`` or ``--mock``, if any),
        for steps that call them."""
        self.metadata: Mapping[str, Any] = dict(metadata or {})
        """What a SyGra processor receives as ``metadata``: ``output_file`` (the dataset being
        curated) and ``task_name``."""
        self._files = files
        self._from_loop = from_loop
        self._build_env: BuildEnv | None = None

    def file(self, suffix: str) -> Path:
        """Where to write a file of the step's own, named ``NAME`` + ``suffix``
        (``.profile.json``) beside the curated output. Write it whole before ``finish``
        returns: it is moved into place with the curated output, after every step finished."""
        if not suffix.startswith(".") or "/" in suffix or "\\" in suffix or suffix in {".", ".."}:
            raise ConfigError(
                f"a step's file suffix must start with a dot and name a file, such as "
                f"'.profile.json', not {suffix!r}"
            )
        return self._files(suffix)

    def embedder(self, model: str, *, batch_size: int = 64) -> Embedder:
        """The embedder of ``model``: a models-file entry (the run's, or ``grasp curate
        --models``) with an embeddings route or a ``local/`` model, checked now. Its requests
        hold ``batch_size`` texts each and keep to the entry's limits and retries; await
        its ``embed`` with :meth:`run_async`."""
        from grasp_core.models.backends import BackendPool
        from grasp_core.models.catalog import ModelCatalog
        from grasp_core.observe.metrics import RunMetrics
        from grasp_core.protocols import BuildEnv
        from grasp_core.registry import embedders

        if self._build_env is None:
            catalog = self.models or ModelCatalog()
            self._build_env = BuildEnv(
                task_dir=self.base_dir,
                models=catalog,
                backends=BackendPool(catalog),
                metrics=RunMetrics(),
            )
        embedder: Embedder = embedders.get("default")(model, self._build_env, batch_size=batch_size)
        return embedder

    def run_async(self, fn: Callable[..., Coroutine[Any, Any, T]], *args: Any) -> T:
        """Await ``fn(*args)`` from the step's thread: on the event loop that started the
        post-process when there is one (where the run's model clients live), else on a loop
        of its own."""
        if self._from_loop:
            return anyio.from_thread.run(fn, *args)
        return anyio.run(fn, *args)
