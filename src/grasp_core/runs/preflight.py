"""``check_before_calls``: what a run refuses once its graph is compiled and before its first
model call, because it would fail every record after that record's calls: a key a node or
the ``output_map`` reads that nothing provides, a row format whose fields the output records
lack, and a row format with list or dict columns written to a sink that stores them as text.

Source columns come from the task's first records, read through its real source, joins and
transforms (so renames and added fields count); when they cannot be read, no key is
reported missing, since the data might hold it.
"""

from __future__ import annotations

from collections.abc import Iterable

import anyio.to_thread

from grasp_core import registry
from grasp_core.config.yaml_source import YamlPath, format_yaml_path
from grasp_core.engine.row_formats import format_flag
from grasp_core.errors import ConfigError
from grasp_core.graph.compiled import END, CompiledGraph
from grasp_core.graph.state_keys import (
    StateKeys,
    check_state_reads,
    missing_message,
    uncertain_message,
)
from grasp_core.logs import get_logger
from grasp_core.runs.parts import TaskParts
from grasp_core.runs.quality import output_with_quality

__all__ = ["check_before_calls", "first_columns"]

_log = get_logger(__name__)

PEEK = 10
"""Records read to learn the data's columns (their union counts: a column may be unset)."""


async def check_before_calls(parts: TaskParts, graph: CompiledGraph) -> None:
    """Raise a ``ConfigError`` naming file, line and YAML path for the first kind of problem
    found (every key that nothing provides is listed at once); warn about keys that may be
    missing on some routes. Reads at most :data:`PEEK` records; writes nothing."""
    has_source = parts.task.config.data_config.source is not None
    columns = await anyio.to_thread.run_sync(first_columns, parts) if has_source else frozenset()
    what = (
        f"the columns of the data's first {PEEK} records"
        if has_source
        else "a data-less record's keys (it starts empty)"
    )
    keys = check_state_reads(graph, columns, document=parts.task.document, what=what)
    _check_output_map(parts, keys, what)
    name = parts.format_name()
    if name is not None:
        row_format = registry.formats.get(name)
        _check_format_fields(parts, keys, name, tuple(getattr(row_format, "required_fields", ())))
        _check_sinks(parts, name, tuple(getattr(row_format, "nested_columns", ())))


def first_columns(parts: TaskParts) -> frozenset[str] | None:
    """The columns of the task's first readable records; None when none could be read."""
    source = parts.source()  # a config error is the task's, reported as such
    columns: set[str] = set()
    read = False
    try:
        for item in source.iter_records(limit=PEEK):
            if item.error is None:
                columns.update(item.data)
                read = True
    except Exception as exc:  # the run reports its own reading errors; the check only abstains
        _log.debug("the data's columns are unknown; keys are not checked", error=str(exc))
        return None
    return frozenset(columns) if read else None


def _check_output_map(parts: TaskParts, keys: StateKeys, what: str) -> None:
    output = parts.task.config.output_config
    if output is None or output.output_map is None:
        return
    problems: list[str] = []
    id_column = parts.task.config.data_config.id_column
    for field_name, spec in output.output_map.items():
        if spec.from_ is None or spec.required is False or spec.from_ == id_column:
            continue  # a field that may be null, or the id (a record without one has its own)
        path: YamlPath = ("output_config", "output_map", field_name, "from")
        read = keys.read_at(END, spec.from_, path)
        if read is None:
            continue
        where = _where(parts, path)
        if read.kind == "missing":
            problems.append(f"{where}: {missing_message(read, keys, what=what, shown='%r')}")
        else:
            _log.warning(f"{where}: {uncertain_message(read, shown='%r')}")
    if problems:
        raise ConfigError("\n".join(problems) if len(problems) == 1 else _listed(problems))


def _listed(problems: Iterable[str]) -> str:
    return "the output reads state keys that nothing provides:\n" + "\n".join(
        f"  {problem}" for problem in problems
    )


def _output_fields(parts: TaskParts, keys: StateKeys) -> frozenset[str] | None:
    """The fields of the output records, when known before the run: the ``output_map``'s,
    else (no generator) the keys a finished state may hold, with the id column."""
    config = parts.task.config
    output = output_with_quality(config.output_config)
    if output is not None and output.output_map is not None:
        return frozenset(output.output_map)
    if output is not None and output.generator is not None:
        return None  # generate() builds the records
    held = keys.at_end()
    return None if held is None else held | {config.data_config.id_column}


def _check_format_fields(
    parts: TaskParts, keys: StateKeys, name: str, required: tuple[str, ...]
) -> None:
    fields = _output_fields(parts, keys)
    missing = [field for field in required if fields is not None and field not in fields]
    if not missing:
        return
    output = parts.task.config.output_config
    mapped = output is not None and output.output_map is not None
    has = f"output_map fields: {', '.join(sorted(fields or ())) or 'none'}"
    if not mapped:
        has = f"a record is its final state: {', '.join(sorted(fields or ())) or 'no key'}"
    wanted = " and ".join(map(repr, missing))
    if "messages" in keys.available(END):
        how = f"`{missing[0]}: {{from: messages}}` takes the nodes' prompts and replies"
    else:
        how = "a node or a lambda can build it as a list of {role, content} turns"
    path: YamlPath = ("output_config", "output_map") if mapped else ("output_config",)
    raise ConfigError(
        f"{_where(parts, path if output is not None else ('graph_config',))}: "
        f"{_chosen(parts, name)} writes rows from each record's {wanted} field, which "
        f"this task's output records do not have ({has}); add it to "
        f"output_config.output_map ({how}), or write plain records without the row "
        "format; see docs/how-to/output-formats.md"
    )


def _check_sinks(parts: TaskParts, name: str, nested: tuple[str, ...]) -> None:
    if not nested:
        return
    for block, path in parts.layout.sink_blocks.values():
        kind = str(block["type"])
        if getattr(registry.sinks.get(kind), "nested_as_text", False):
            raise ConfigError(
                f"{_where(parts, (*path, 'type'))}: a {kind} sink writes lists and dicts as "
                f"JSON text, and the rows of {_chosen(parts, name)} hold them in "
                f"{', '.join(map(repr, nested))}: `result.to_dataset()` and trainers would "
                "read those columns as strings. Write these rows to a jsonl, parquet or hf sink"
            )


def _where(parts: TaskParts, path: YamlPath) -> str:
    """``file:line: yaml.path`` in the task file (just the path for a task built in code)."""
    document = parts.task.document
    return document.where(path) if document is not None else format_yaml_path(path)


def _chosen(parts: TaskParts, name: str) -> str:
    """How the run chose the row format ``name``, in the user's words."""
    options = parts.options
    if options.oasst:
        return "--oasst" + (f" {options.oasst}" if isinstance(options.oasst, str) else "")
    if options.format is not None:
        return format_flag(name)
    output = parts.task.config.output_config
    if output is not None and output.format == name:
        return f"output_config.format {name!r}"
    return f"output_config.oasst_mapper (rows in format {name!r})"
