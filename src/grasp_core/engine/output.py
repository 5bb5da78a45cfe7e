"""Turn a finished record's state into the output record (``output_config``)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic_core import PydanticSerializationError

from grasp_core.config import OutputConfig
from grasp_core.config.dotted import resolve_dotted
from grasp_core.engine.writable import writable_everywhere
from grasp_core.errors import ConfigError, NodeError, RecordError
from grasp_core.graph.state import REPLY_FLAGS, json_safe
from grasp_core.signal_exits import raised_by_signal_handler

__all__ = ["MISSING", "OutputShaper", "lookup", "resolve_task_refs"]

MISSING: Any = object()


def lookup(data: Mapping[str, Any], path: str) -> Any:
    """``data[path]``, or a walk through nested dicts for ``a.b.c``; ``MISSING`` if absent."""
    if path in data:
        return data[path]
    current: Any = data
    for part in path.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return MISSING
    return current


def resolve_task_refs(value: Any, task_data: Mapping[str, Any], *, where: str) -> Any:
    """Replace ``$a.b.c`` strings (at any depth) by that path's value in the task file."""
    if isinstance(value, str) and value.startswith("$") and len(value) > 1:
        found = lookup(task_data, value[1:])
        if found is MISSING:
            raise ConfigError(
                f"{where}: {value!r} does not name a value in this task file; `$` paths "
                "start at a top-level block, such as `$data_config.source.file_path`"
            )
        return found
    if isinstance(value, list):
        return [resolve_task_refs(v, task_data, where=f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: resolve_task_refs(v, task_data, where=f"{where}.{k}") for k, v in value.items()}
    return value


class OutputShaper:
    """Builds output records; compiled once per run."""

    def __init__(
        self,
        config: OutputConfig | None,
        *,
        task_data: Mapping[str, Any],
        task_dir: Path | None,
        id_column: str = "id",
    ) -> None:
        self.id_column = id_column
        self._generate: Callable[[dict[str, Any]], Any] | None = None
        self._fields: list[tuple[str, Callable[[dict[str, Any]], Any]]] = []
        generator: Any = None
        if config is not None and config.generator is not None:
            generator = _instantiate(config.generator, task_dir)
            if callable(getattr(generator, "generate", None)):
                if config.output_map is not None:
                    raise ConfigError(
                        f"output_config: the generator {config.generator!r} defines generate(), "
                        "which builds the whole record, so output_map would be ignored; drop "
                        "output_map, or rename generate() to keep only the transform methods"
                    )
                self._generate = _checked_generate(generator.generate, config.generator)
        if config is None or config.output_map is None:
            return
        for name, spec in config.output_map.items():
            where = f"output_config.output_map.{name}"
            if spec.from_ is not None:
                required = spec.required is not False
                getter = _from_state(spec.from_, name, required=required)
            else:
                constant = resolve_task_refs(spec.value, task_data, where=where)
                getter = _constant(constant)
            if spec.transform is not None:
                getter = _transformed(getter, generator, spec.transform, where)
            self._fields.append((name, getter))

    def shape(self, record_id: str, state: dict[str, Any]) -> dict[str, Any] | None:
        """The JSON-safe output record, or ``None`` when the generator drops it. An
        ``output_map`` record also carries the state's ``reply_flags`` when there are any
        (a ``generate()`` builds its record itself)."""
        return self.shape_checked(record_id, state)[0]

    def shape_checked(
        self, record_id: str, state: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, bool]:
        """:meth:`shape`'s record, and whether it passed :func:`writable_everywhere` (one
        walk that also tells it holds no bytes, so it is copied without looking for them)."""
        if self._generate is not None:
            produced = self._generate(state)
            if produced is None:
                return None, False
            record = dict(produced)
        elif self._fields:
            with_id = state if self.id_column in state else {**state, self.id_column: record_id}
            record = {name: getter(with_id) for name, getter in self._fields}
            if state.get(REPLY_FLAGS) and REPLY_FLAGS not in record:
                # replies kept although cut off or empty stay visible on the record
                record[REPLY_FLAGS] = state[REPLY_FLAGS]
        else:
            record = {self.id_column: record_id, **state} if self.id_column not in state else state
        plain = writable_everywhere(record)
        try:
            # plain values hold no bytes: keep_bytes would only walk them again to see that
            return json_safe(record, keep_bytes=not plain), plain
        except (PydanticSerializationError, ValueError, UnicodeError) as exc:
            raise RecordError(
                f"record {record_id!r}: output is not JSON-serialisable ({exc})"
            ) from None


def _instantiate(path: str, task_dir: Path | None) -> Any:
    target = resolve_dotted(path, task_dir, what="output generator")
    if not inspect.isclass(target):
        return target
    try:
        return target()
    except Exception as exc:
        raise ConfigError(
            f"output_config.generator: creating {path!r} raised {type(exc).__name__}: {exc}; "
            "a generator class is built with no arguments"
        ) from exc


def _checked_generate(
    generate: Callable[[dict[str, Any]], Any], path: str
) -> Callable[[dict[str, Any]], Any]:
    """``generate`` whose exceptions and non-dict results fail the record, not the run."""

    def run(state: dict[str, Any]) -> Any:
        try:
            produced = generate(state)
        except (Exception, SystemExit) as exc:  # sys.exit in user code fails its record
            if isinstance(exc, SystemExit) and raised_by_signal_handler(exc):
                raise  # a stop (Ray's SIGTERM), not the user code's doing
            raise NodeError(
                f"output_config.generator {path!r}: generate() raised {type(exc).__name__}: {exc}"
            ) from exc
        if produced is not None and not isinstance(produced, Mapping):
            raise NodeError(
                f"output_config.generator {path!r}: generate() must return a dict or None, "
                f"got {type(produced).__name__}"
            )
        return produced

    return run


def _from_state(key: str, name: str, *, required: bool) -> Callable[[dict[str, Any]], Any]:
    """A getter of ``key``; a state without it fails the record, or gives None when the
    field is not ``required``. (A record without an id reads its record id under the id
    column: the state :meth:`OutputShaper.shape` passes holds it.)"""

    def get(state: dict[str, Any]) -> Any:
        value = lookup(state, key)
        if value is MISSING and not required:
            return None
        if value is MISSING:
            raise RecordError(
                f"output field {name!r}: the record state has no key {key!r} "
                f"(keys: {', '.join(sorted(state)) or 'none'}); check output_map.{name}.from"
            )
        return value

    return get


def _constant(value: Any) -> Callable[[dict[str, Any]], Any]:
    return lambda _state: value


def _transformed(
    getter: Callable[[dict[str, Any]], Any], generator: Any, method: str, where: str
) -> Callable[[dict[str, Any]], Any]:
    if generator is None:
        raise ConfigError(f"{where}.transform: {method!r} needs output_config.generator (a class)")
    fn = getattr(generator, method, None)
    if not callable(fn):
        raise ConfigError(
            f"{where}.transform: the generator {type(generator).__name__} has no method {method!r}"
        )
    takes_state = len(inspect.signature(fn).parameters) >= 2

    def get(state: dict[str, Any]) -> Any:
        value = getter(state)
        try:
            return fn(value, state) if takes_state else fn(value)
        except (Exception, SystemExit) as exc:  # sys.exit in user code fails its record
            if isinstance(exc, SystemExit) and raised_by_signal_handler(exc):
                raise  # a stop (Ray's SIGTERM), not the user code's doing
            raise NodeError(
                f"{where}.transform {method!r} raised {type(exc).__name__}: {exc}"
            ) from exc

    return get
