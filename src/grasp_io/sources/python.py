"""The ``python`` source: records a function of the task's own code returns.

For datasets built in code rather than read from a file: the function (named by a dotted
path from the task folder, as hooks are) is called with ``params`` as keyword arguments and
its records are read in order: a list or any iterable of dicts, or a Hugging Face
``Dataset``. A dotted path to a method (``task_executor.TaskExecutor.init_dataset``) calls it
on an instance of the class made with no arguments; this is how ``grasp convert sygra``
keeps a SyGra ``TaskExecutor.init_dataset``. The function runs once per read, when the run
starts reading; what it raises fails the run with its message.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from grasp_core.errors import ConfigError, SourceError
from grasp_core.plugin import SourceItem, resolve_dotted
from grasp_io._fs import coerce_config
from grasp_io.sources._ids import IdDigests, id_digest
from grasp_io.sources.disk import _record_id

__all__ = ["PythonSource", "PythonSourceConfig"]


class PythonSourceConfig(BaseModel):
    """``data_config.source`` for records made by a function of the task's code."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["python"]
    """Selects the python source."""

    function: str
    """Dotted path, from the task folder, to a function returning the records (or to a
    method of a class built with no arguments: ``module.Class.method``)."""

    params: dict[str, Any] = Field(default_factory=dict)
    """Keyword arguments the function is called with."""

    id_column: str = "id"
    """The field holding each record's id. Records without it take their position as id.
    Ids must be unique: resume tells records apart by id."""

    alias: str | None = None
    """A name for this source, for tasks that read several sources."""


class PythonSource:
    """Reads the records a function of the task's code returns."""

    config_model: ClassVar[type[BaseModel]] = PythonSourceConfig

    def __init__(self, config: PythonSourceConfig, base_dir: Path) -> None:
        self.config = config
        self.base_dir = base_dir
        self._function = _callable(config.function, base_dir)

    @classmethod
    def from_config(cls, config: BaseModel, base_dir: Path) -> PythonSource:
        return cls(coerce_config(config, PythonSourceConfig), base_dir)

    def iter_records(self, start: int = 0, limit: int | None = None) -> Iterator[SourceItem]:
        where = f"data_config.source.function {self.config.function!r}"
        try:
            made = self._function(**self.config.params)
        except Exception as exc:
            raise SourceError(f"{where} raised {type(exc).__name__}: {exc}") from exc
        rows = made.to_list() if callable(getattr(made, "to_list", None)) else made
        if isinstance(rows, Mapping | str | bytes) or not hasattr(rows, "__iter__"):
            raise SourceError(f"{where} returned {type(made).__name__}; return a list of dicts")
        seen = IdDigests()
        taken = 0
        for position, row in enumerate(rows):
            if position < start:
                continue
            if limit is not None and taken >= limit:
                return
            taken += 1
            if not isinstance(row, Mapping):
                error = f"{where}: item {position} is {type(row).__name__}, not a dict"
                yield SourceItem(str(position), {}, error)
                continue
            data = dict(row)
            record_id = _record_id(data, self.config.id_column, position)
            if not seen.add(id_digest(record_id)):
                yield SourceItem(record_id, {}, f"{where}: duplicate id {record_id!r}")
                continue
            yield SourceItem(record_id, data)


def _callable(path: str, base_dir: Path) -> Any:
    """The function ``path`` names; a method of a class is bound to a new instance."""
    found = resolve_dotted(path, base_dir, what="source function")
    owner_path, _, method = path.rpartition(".")
    owner = (
        resolve_dotted(owner_path, base_dir, what="source function") if "." in owner_path else None
    )
    if inspect.isclass(owner) and not isinstance(
        inspect.getattr_static(owner, method), staticmethod | classmethod
    ):
        try:
            instance = owner()
        except Exception as exc:
            raise ConfigError(
                f"data_config.source.function {path!r}: creating {owner_path!r} raised "
                f"{type(exc).__name__}: {exc}; the class is built with no arguments"
            ) from exc
        found = getattr(instance, method)
    if not callable(found):
        raise ConfigError(f"data_config.source.function {path!r} is not a function")
    return found
