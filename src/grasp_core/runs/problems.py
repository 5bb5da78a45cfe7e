"""``task_problems``: what ``grasp validate`` finds wrong with a task, as data — each problem
with its file, line and YAML path — for editors and the Studio, which show it on the line and
the node it is about."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from grasp_core.config.task_file import Task
from grasp_core.errors import GraspError
from grasp_core.models.catalog import catalog_for_checking
from grasp_core.runs.checks import check_task

__all__ = ["TaskProblem", "problems_of", "task_problems"]

_LOCATED = re.compile(r"^\s*(?P<file>\S(?:.*?\S)?):(?P<line>\d+): (?P<rest>.*)$")
_YAML_PATH = re.compile(r"^(?P<path>[A-Za-z_][\w-]*(?:\.[^\s.:\[\]]+|\[\d+\])*): (?P<message>.+)$")


@dataclass(frozen=True, slots=True)
class TaskProblem:
    """One thing to fix in a task."""

    message: str
    """The problem and what to do, without its location."""
    file: str | None = None
    """The file it is in (as the task was loaded: the task file, or one it includes)."""
    line: int | None = None
    """1-based line in ``file``."""
    path: str | None = None
    """The YAML path (``graph_config.nodes.ask.model``), when the message names one."""

    @property
    def node(self) -> str | None:
        """The node of ``graph_config`` the problem is about, if it is about one."""
        if self.path is None or not self.path.startswith("graph_config.nodes."):
            return None
        return re.split(r"[.\[]", self.path[len("graph_config.nodes.") :], maxsplit=1)[0]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "node": self.node}


def problems_of(error: GraspError) -> list[TaskProblem]:
    """``error``'s message split into problems (one per ``file:line: path: message`` line;
    a message with no location is one problem)."""
    lines = [line for line in str(error).splitlines() if line.strip()]
    located = [_problem(line) for line in lines if _LOCATED.match(line)]
    if located:
        return located
    return [TaskProblem(" ".join(lines) or type(error).__name__)]


def _problem(line: str) -> TaskProblem:
    match = _LOCATED.match(line)
    assert match is not None
    rest = match["rest"]
    path_match = _YAML_PATH.match(rest)
    path = path_match["path"] if path_match else None
    message = path_match["message"] if path_match else rest
    return TaskProblem(message, match["file"], int(match["line"]), path)


async def task_problems(
    task: str | Path, *, models: str | Path | None = None, mock: bool = False
) -> list[TaskProblem]:
    """Check ``task`` as ``grasp validate`` does and return its problems (empty: it is
    valid). ``mock``: the models' API keys are not needed (a run with ``mock=True``)."""
    try:
        loaded = Task.load(task)
        catalog = catalog_for_checking(
            Path(models) if models is not None else None, loaded.task_dir, check_keys=not mock
        )
        await check_task(loaded, catalog)
    except GraspError as exc:
        return problems_of(exc)
    return []
