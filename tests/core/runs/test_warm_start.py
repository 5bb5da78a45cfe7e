"""A second run in the same process starts cheaply yet sees every edit: the task and models
files are read again (an edited file runs as edited), GraSP's version is read once, and the
sinks are finalized in one thread hop, in order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest

from grasp_core import RunOptions, run_task
from grasp_core.mock_server import MockServer
from grasp_core.runs import local, provenance
from tests.conftest import write_task

TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/answers.jsonl}
graph_config:
  nodes:
    answer:
      node_type: llm
      output_keys: answer
      prompt:
        - user: "PROMPT {text}"
      model: {name: m}
  edges:
    - {from: START, to: answer}
    - {from: answer, to: END}
"""

MODELS = "m:\n  model: openai/m\n  api_base: {url}/v1\n"


def _answers(task: Path) -> list[str]:
    lines = (task.parent / "out" / "answers.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["answer"] for line in lines]


def test_a_task_edited_between_two_runs_runs_as_edited(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """The mock echoes the prompt: after the prompt and the models file are edited in place
    (the task file keeps its length), the next run in the process sends the new prompt and
    records the new model entry."""
    (tmp_path / "data.jsonl").write_text('{"id": "r0", "text": "hi"}\n', encoding="utf-8")
    models = {"models.yaml": MODELS.format(url=mock_server.url)}
    task = write_task(tmp_path, TASK.replace("PROMPT", "first"), models)
    run_task(task, RunOptions(overwrite=True, cache=False))
    assert _answers(task) == ["first hi"]
    task.write_text(TASK.replace("PROMPT", "again"), encoding="utf-8")
    run_task(task, RunOptions(overwrite=True, cache=False))
    assert _answers(task) == ["again hi"]
    (tmp_path / "models.yaml").write_text(
        MODELS.format(url=mock_server.url).replace("openai/m", "openai/x"), encoding="utf-8"
    )
    result = run_task(task, RunOptions(overwrite=True, cache=False))
    assert result.done == 1
    assert list(result.metrics["models"]) == ["m"]
    provenance_file = tmp_path / "out" / "answers.provenance.json"
    assert json.loads(provenance_file.read_text())["models"]["m"]["model"] == "openai/x"


def test_the_version_is_read_once_a_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """``grasp_version`` asks the package metadata once; later runs reuse the answer."""
    asked: list[str] = []

    def version(name: str) -> str:
        asked.append(name)
        return "1.2.3"

    monkeypatch.setattr(provenance, "version", version)
    provenance.grasp_version.cache_clear()
    try:
        assert [provenance.grasp_version() for _ in range(3)] == ["1.2.3"] * 3
        assert asked == ["grasp-sdg"]
    finally:
        provenance.grasp_version.cache_clear()


class _Sink:
    def __init__(self, name: str, done: list[str]) -> None:
        self.name, self.done = name, done

    def finalize(self) -> list[Path]:
        self.done.append(self.name)
        return [Path(f"{self.name}.jsonl")]


def test_the_sinks_are_finalized_in_one_thread_hop(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every sink, then the failures sink, finalize in order, in one worker thread call;
    each sink's files come back under its name."""
    done: list[str] = []
    hops: list[Any] = []
    run_sync = anyio.to_thread.run_sync

    async def counted(func: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(func)
        return await run_sync(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    sinks: dict[str, Any] = {"a": _Sink("a", done), "b": _Sink("b", done)}

    async def main() -> dict[str, list[Path]]:
        return await local._finalize(sinks, _Sink("failures", done))  # type: ignore[arg-type]

    outputs = anyio.run(main)
    assert outputs == {"a": [Path("a.jsonl")], "b": [Path("b.jsonl")]}
    assert done == ["a", "b", "failures"]
    assert len(hops) == 1
