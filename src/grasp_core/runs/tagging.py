"""``tag_task``: the task behind ``grasp tag`` — the input as its source, one ``quality``
node, the output as its sink — so tagging resumes after a crash and accounts for every
failed record, like any run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grasp_core.config.task_file import Task
from grasp_core.runs.quality import QUALITY_NODE_TYPE

__all__ = ["tag_task"]

_TAG_NODE = "quality"


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
