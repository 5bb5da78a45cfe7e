"""``task_problems``: what ``grasp validate`` finds wrong with a task, as data — each problem
with its file, line and YAML path — for editors and the Studio, which show it on the line and
the node it is about.

``grasp validate`` stops at the first part of the task that fails; an editor wants every
problem it can find at once. So the parts whose checks do not depend on each other are checked
one by one, each problem kept: the task file's own keys, the models file, each node's config
(even when the edges are broken), the graph, the output map, the schema, the row format, the
source and the sinks. When all of them pass, ``check_task`` runs whole, as ``grasp validate``
does (the checks that need the rest, such as the keys nodes read from the first records)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from grasp_core.config import TaskConfig
from grasp_core.config.task_file import Task, task_file
from grasp_core.config.yaml_source import load_yaml
from grasp_core.errors import GraspError
from grasp_core.models.catalog import ModelCatalog, catalog_for_checking
from grasp_core.runs.checks import check_task
from grasp_core.runs.options import RunOptions
from grasp_core.runs.parts import TaskParts

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

    def __str__(self) -> str:
        """The problem as ``grasp validate`` prints it: ``file:line: path: message``."""
        text = self.message if self.path is None else f"{self.path}: {self.message}"
        if self.file is None:
            return text
        return (
            f"{self.file}:{self.line}: {text}" if self.line is not None else f"{self.file}: {text}"
        )


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
    """Check ``task`` as ``grasp validate`` does and return every problem found (empty: it
    is valid), not only the first: see the module's docstring. ``mock``: the models' API
    keys are not needed (a run with ``mock=True``)."""
    try:
        loaded = Task.load(task)
    except GraspError as exc:  # the sound parts (nodes, sinks...) can still be checked
        sound = _sound_parts(Path(task))
        if sound is None:
            return problems_of(exc)
        return _unique([*problems_of(exc), *_part_problems(sound, models, mock)])
    found = _part_problems(loaded, models, mock)
    if found:
        return _unique(found)
    try:
        await check_task(loaded, _checking_catalog(loaded, models, mock))
    except GraspError as exc:
        return problems_of(exc)
    return []


def _checking_catalog(task: Task, models: str | Path | None, mock: bool) -> ModelCatalog:
    """The catalog ``grasp validate`` checks ``task`` against (keys needed unless ``mock``)."""
    explicit = Path(models) if models is not None else None
    return catalog_for_checking(explicit, task.task_dir, check_keys=not mock)


def _part_problems(task: Task, models: str | Path | None, mock: bool) -> list[TaskProblem]:
    """The problems of each part of ``task``, each part checked on its own."""
    found: list[TaskProblem] = []
    try:
        catalog = _checking_catalog(task, models, mock)
    except GraspError as exc:
        found += problems_of(exc)
        catalog = ModelCatalog(mock_url="-")  # every model name accepted: check the rest
    parts = TaskParts(task, RunOptions(), catalog)
    checks: list[Callable[[], object]] = [
        lambda: parts.graph(parts.build_env()),
        parts.shaper,
        parts.validator,
        parts.row_mapper,
        parts.sinks,
    ]
    if task.config.data_config.source is not None:
        checks.append(parts.source)
    for check in checks:
        try:
            check()
        except GraspError as exc:
            found += problems_of(exc)
    return found


def _sound_parts(path: Path) -> Task | None:
    """The task file with only its top-level parts that validate (``data_config``,
    ``output_config``...), the rest left at their defaults: what can still be checked when
    the task does not load. None without a sound ``graph_config``, or when the file does not
    read as YAML."""
    try:
        file = task_file(path)
        document = load_yaml(file)
    except GraspError:
        return None
    data = document.data
    if not isinstance(data, Mapping):
        return None
    sound: dict[str, Any] = {}
    for key in sorted(data, key=lambda key: key != "graph_config"):  # the required one first
        try:
            TaskConfig.model_validate({**sound, key: data[key]})
        except ValueError:  # pydantic's ValidationError: Task.load reported it
            if key == "graph_config":
                return None
            continue
        sound[key] = data[key]
    if not sound:
        return None
    config = TaskConfig.model_validate(sound)
    folder = file.resolve().parent
    return Task(config, data, folder, file.stem, document=document, path=file.resolve())


def _unique(problems: list[TaskProblem]) -> list[TaskProblem]:
    """``problems`` in order, each once (two checks may find the same one)."""
    return list(dict.fromkeys(problems))
