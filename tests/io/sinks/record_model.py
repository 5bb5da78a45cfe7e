"""Running a small task over a source file, and an independent model of what it must write.

The model (the rules in docs/reference/data.md) says which records a source holds and what
their ids are; `check_accounted` then asserts every record is either in the sink, equal to
what the graph computes from it, or in the failures file with a reason.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, settings

from grasp_core import RunOptions, RunResult, run_task
from grasp_core.config.task_file import Task
from grasp_core.models.catalog import ModelCatalog, ModelSpec

SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def size(state: Mapping[str, Any]) -> int:
    """The lambda under test: fails without `text`, or when `text` has no length."""
    return len(state["text"])


@dataclass(frozen=True)
class Expected:
    """One record of the source: its id, and its data (None when the source cannot use it)."""

    record_id: str
    data: dict[str, Any] | None
    where: str = ""
    """For a record the source cannot use: the place its failure reason must name."""


Found = list[tuple[int, dict[str, Any] | None]]
"""Per record position: its number in the file (line, or 0-based item/row) and its data,
None when the file holds something there that is not a record (bad JSON, wrong width...)."""


def assign_ids(found: Found, unit: str, path: Path) -> list[Expected]:
    """Ids as the data reference defines them: the id field, else the position; a repeated
    id, and an unreadable record, fail under an id naming their place (`<line 7>`)."""
    seen: set[str] = set()
    items: list[Expected] = []
    for position, (number, data) in enumerate(found):
        where = f"{path}:{number}" if unit == "line" else f"{path} {unit} {number}"
        if data is not None:
            value = data.get("id")
            record_id = str(position) if value is None or value == "" else str(value)
            if record_id not in seen:
                seen.add(record_id)
                items.append(Expected(record_id, data))
                continue
        items.append(Expected(f"<{unit} {number}>", None, where))
    return items


def lambda_output(item: Expected) -> dict[str, Any] | None:
    """What the lambda task writes for a record, or None when the record must fail."""
    assert item.data is not None
    try:
        value = size(item.data)
    except Exception:
        return None
    return {**_with_id(item), "out": value}


def llm_output(item: Expected) -> dict[str, Any] | None:
    """What the llm task writes: the mock server echoes the rendered prompt, trimmed."""
    assert item.data is not None
    if "text" not in item.data:
        return None
    text = item.data["text"]
    prompt = "Say " + (text if isinstance(text, str) else str(text))
    reply = prompt.strip()
    messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": reply}]
    return {**_with_id(item), "out": reply, "messages": messages}


def _with_id(item: Expected) -> dict[str, Any]:
    assert item.data is not None
    return item.data if "id" in item.data else {"id": item.record_id, **item.data}


def lambda_task(folder: Path, source: str) -> tuple[Task, RunOptions]:
    node = {"node_type": "lambda", "lambda": size, "output_keys": "out"}
    return _task(folder, source, node), RunOptions()


def llm_task(folder: Path, source: str, mock_url: str) -> tuple[Task, RunOptions]:
    node = {
        "node_type": "llm",
        "output_keys": "out",
        "prompt": [{"user": "Say {text}"}],
        "model": {"name": "m"},
    }
    catalog = ModelCatalog(specs={"m": ModelSpec(model="openai/m", max_retries=0)})
    return _task(folder, source, node), RunOptions(mock=mock_url, models=catalog)


def _task(folder: Path, source: str, node: dict[str, Any]) -> Task:
    return Task.from_dict(
        {
            "data_config": {
                "source": {"type": "disk", "file_path": source},
                "sink": {"type": "jsonl", "file_path": "out/out.jsonl"},
            },
            "graph_config": {
                "nodes": {"step": node},
                "edges": [{"from": "START", "to": "step"}, {"from": "step", "to": "END"}],
            },
        },
        task_dir=folder,
    )


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """JSON Lines split on newline bytes only (a record may hold U+2028 or U+0085 raw)."""
    return [json.loads(line) for line in path.read_bytes().split(b"\n") if line]


def canonical(record: Mapping[str, Any]) -> str:
    """The record as the JSONL sink writes it: NaN and infinities become null."""
    return json.dumps(_finite(record), sort_keys=True)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def check_accounted(result: RunResult, folder: Path, items: list[Expected], output: Any) -> None:
    """Every record is written as computed, or failed with a reason; nothing else is written."""
    written = read_jsonl(folder / "out" / "out.jsonl")
    failures = read_jsonl(folder / "out" / "out.failures.jsonl")
    assert (result.done, result.failed) == (len(written), len(failures))
    assert len(written) + len(failures) == len(items)
    computed = {id(item): output(item) for item in items if item.data is not None}
    expected_written = Counter(canonical(c) for c in computed.values() if c is not None)
    assert Counter(canonical(r) for r in written) == expected_written
    node_failures = Counter(f["id"] for f in failures if f["node"] == "step")
    expected_node_failures = Counter(
        item.record_id for item in items if item.data is not None and computed[id(item)] is None
    )
    assert node_failures == expected_node_failures
    unusable = [item for item in items if item.data is None]
    from_source = [f for f in failures if f["node"] is None]
    assert sorted(f["id"] for f in from_source) == sorted(item.record_id for item in unusable)
    by_id = {f["id"]: f for f in from_source}
    for item in unusable:
        assert by_id[item.record_id]["error"] == "SourceError"
        assert by_id[item.record_id]["unreadable"] is True
        assert by_id[item.record_id]["reason"].startswith(item.where + ": ")
    assert all(isinstance(f["reason"], str) and f["reason"] for f in failures)
    event(f"written {min(len(written), 3)}, failed in the node {min(node_failures.total(), 3)}")
    event(f"unusable in the file {min(len(unusable), 3)}")


def run_over(
    folder: Path, name: str, content: bytes, found: Found, *, task: tuple[Task, RunOptions]
) -> tuple[RunResult, list[Expected]]:
    """Write the source file, run the task over it, and model the records it holds."""
    path = folder / name
    path.write_bytes(content)
    result = run_task(*task)
    unit = {".jsonl": "line", ".csv": "line", ".json": "item", ".parquet": "row"}[path.suffix]
    return result, assign_ids(found, unit, path.resolve())


NewFolder = Callable[[], Path]
