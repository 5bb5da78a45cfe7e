"""What the Studio asks of a task in a child process (:mod:`grasp_studio.child`), so the
task's code — transforms, lambdas, subgraphs — never runs or is imported in the Studio:

- ``python -m grasp_studio.child_tasks records TASK LIMIT``: the first records of the
  task's source (after its transforms), ``{"records": [{"id", "data"}...], "data_less"}``;
- ``python -m grasp_studio.child_tasks problems TASK [--mock]``: ``grasp validate``'s
  problems, every one (``[TaskProblem.to_dict()...]``).

A task that does not load is one line on standard error and exit code 1."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio

import grasp_core

__all__ = ["main"]


def main(argv: list[str]) -> int:
    command, task_path = argv[0], Path(argv[1])
    try:
        if command == "records":
            answer: Any = _records(task_path, int(argv[2]))
        else:
            problems = anyio.run(_problems, task_path, "--mock" in argv[2:])
            answer = [problem.to_dict() for problem in problems]
    except grasp_core.GraspError as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    json.dump(answer, sys.stdout, default=str)
    return 0


def _records(task_path: Path, limit: int) -> dict[str, Any]:
    task = grasp_core.Task.load(task_path)
    items = grasp_core.first_records(task, limit=limit)
    records = [{"id": item.record_id, "data": item.data} for item in items]
    return {"records": records, "data_less": task.config.data_config.source is None}


async def _problems(task_path: Path, mock: bool) -> list[grasp_core.TaskProblem]:
    return await grasp_core.task_problems(task_path, mock=mock)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
