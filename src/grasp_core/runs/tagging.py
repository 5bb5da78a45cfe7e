"""``tag_task``: the task behind ``grasp tag`` — the input as its source, one ``quality``
node, the output as its sink — so tagging resumes after a crash and accounts for every
failed record, like any run. Before it runs, :func:`check_tag_fields` reads the first
records once to refuse an input without the fields the tagger reads, and
:func:`nothing_committed` tells an earlier tagging that tagged nothing from one worth
resuming."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from grasp_core.config.task_file import Task
from grasp_core.engine.journal import Journal
from grasp_core.engine.output import MISSING
from grasp_core.errors import ConfigError
from grasp_core.runs.quality import QUALITY_NODE_TYPE
from grasp_core.runs.record_fields import (
    did_you_mean,
    field_list,
    find,
    first_records,
    paths_of,
)

__all__ = ["MESSAGE_FIELDS", "check_tag_fields", "nothing_committed", "tag_task"]

_TAG_NODE = "quality"
MESSAGE_FIELDS = ("conversation", "messages")
"""Where the tagger looks for the role/content list when no field is named."""
_SAMPLE = 100
_LIST_FIX = (
    "name the role/content list with --messages-field, or the text with --prompt-field and "
    "--response-field"
)
_NAMED_FIX = "check --prompt-field and --response-field"


def tag_task(
    source: dict[str, Any],
    sink: dict[str, Any],
    quality: dict[str, Any],
    *,
    task_dir: Path,
    name: str = "tag",
) -> Task:
    """A task that tags ``source`` into ``sink`` with the ``quality`` node options given
    (the ``data_quality`` fields: ``tasks``, ``judge_model``...)."""
    data = {
        "data_config": {"source": source, "sink": sink},
        "graph_config": {
            "nodes": {_TAG_NODE: {"node_type": QUALITY_NODE_TYPE, **quality}},
            "edges": [{"from": "START", "to": _TAG_NODE}, {"from": _TAG_NODE, "to": "END"}],
        },
        "output_config": {"generator": "grasp_core.runs.quality.TaggedRecord"},
    }
    return Task.from_dict(data, task_dir=task_dir, name=name)


def check_tag_fields(
    source: dict[str, Any],
    quality: Mapping[str, Any],
    *,
    base_dir: Path,
    start: int = 0,
    sample: int = _SAMPLE,
) -> None:
    """Refuse, before anything is tagged, an input none of whose first ``sample`` records
    has the fields the ``quality`` options read: each of ``prompt_fields`` and
    ``response_fields`` when given, else ``messages_field`` (default: ``conversation``,
    then ``messages``). One :class:`ConfigError` says which field is missing, the nearest
    field the records have, and the flags that name fields. An input whose first records
    have the fields passes; a later record without them fails alone, as before."""
    records = first_records(source, base_dir, sample, start=start)
    if not records:
        return
    named = [*quality.get("prompt_fields", ()), *quality.get("response_fields", ())]
    if named:
        for name in named:
            if not _in_any(records, (name,)):
                raise _missing(f"the field {name!r}", name, records, _NAMED_FIX)
        return
    field = quality.get("messages_field")
    wanted: Sequence[str] = (field,) if field else MESSAGE_FIELDS
    if not _in_any(records, wanted):
        what = " or ".join(map(repr, wanted))
        raise _missing(f"a {what} field", wanted[0], records, _LIST_FIX)


def nothing_committed(journal_path: Path) -> bool:
    """Whether an earlier run's journal at ``journal_path`` holds nothing worth resuming: no
    record written and no node run of an unfinished record to replay (every record failed,
    or none was reached). Its files may then be replaced without ``--overwrite``."""
    journal = Journal(journal_path)
    if not journal.exists():
        return False
    state = journal.read()
    return not state.done and not state.memo


def _in_any(records: list[dict[str, Any]], fields: Sequence[str]) -> bool:
    return any(find(r, f) is not MISSING for r in records for f in fields)


def _missing(what: str, name: str, records: list[dict[str, Any]], fix: str) -> ConfigError:
    paths = paths_of(records)
    return ConfigError(
        f"none of the first {len(records)} input records has {what} to tag"
        f"{did_you_mean(name, paths)} (their fields: {field_list(paths)}); {fix}. Nothing "
        "was tagged"
    )
