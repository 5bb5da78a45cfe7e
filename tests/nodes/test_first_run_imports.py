"""A run's start-up pays only for what the task uses: a plain llm run over a JSON Lines file
imports no retry machinery (until a call fails), no agent tools and no CSV reader, builds no
validator for SyGra's transforms, and finds its built-in plugins without scanning every
installed package's entry points."""

from __future__ import annotations

import json
from pathlib import Path

from grasp_core.mock_server import MockServer
from tests.conftest import write_task
from tests.nodes.test_lazy_imports import TASK, _child  # the same 2-call llm chain

UNUSED = ("tenacity", "grasp_nodes.agent.tools", "grasp_io.sources._csv")

RUN = """
import json, sys
from pathlib import Path

from grasp_core import RunOptions, run_task

result = run_task(Path(sys.argv[1]), RunOptions(mock=sys.argv[2], cache=False))
from grasp_core import registry
from grasp_core.sourcing._sygra_transform import _AnyParams

loaded = [name for name in {unused!r} if name in sys.modules]
retries = result.metrics["models"]["m"]["retries"]
scanned = registry._scanned is not None
print(json.dumps([result.done, loaded, _AnyParams.__pydantic_complete__, retries, scanned]))
"""


def _task(folder: Path, records: int = 5, marker: str = "") -> Path:
    """The task over ``records`` records; ``marker`` is added to each record's topic."""
    rows = "".join(
        json.dumps({"id": f"r{i}", "topic": f"t{i}{marker}"}) + "\n" for i in range(records)
    )
    return write_task(folder, TASK, {"data.jsonl": rows, "models.yaml": "m: {model: openai/m}\n"})


def _run_fresh(task: Path, url: str) -> list[object]:
    """Run ``task`` in a new interpreter; what :data:`RUN` prints."""
    out: list[object] = json.loads(_child(RUN.format(unused=UNUSED), task.parent, str(task), url))
    return out


def test_a_plain_run_imports_only_what_its_task_uses(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """A 2-call llm run over JSON Lines, in a fresh interpreter, writes every record without
    importing tenacity, the agent's tools or the CSV reader, without building the validator
    of SyGra's transform parameters, and without scanning the installed packages' entry
    points (its node type, source, sink and media resolver are GraSP's own)."""
    task = _task(tmp_path / "task")
    done, loaded, built, _retries, scanned = _run_fresh(task, mock_server.url)
    assert done == 5
    assert loaded == []
    assert built is False
    assert scanned is False
    lines = (tmp_path / "task" / "out.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [f"r{i}" for i in range(5)]


def test_a_failed_call_is_still_retried_after_a_plain_start(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """tenacity, imported only when a call fails, still runs the retries: with each record's
    first request answered 503, every record is written and the retries are counted."""
    mock_server.reset()  # the mock counts each exact request's faults from its last reset
    task = _task(tmp_path / "task", records=2, marker=" [[mock:503:2]]")
    done, loaded, _built, retries, _scanned = _run_fresh(task, mock_server.url)
    assert done == 2
    assert loaded == ["tenacity"]  # the first retry imported it
    assert retries == 4
