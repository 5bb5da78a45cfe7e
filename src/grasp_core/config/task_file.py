"""A loaded task: its validated config, the raw YAML, and where it lives."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grasp_core.config import TaskConfig, validate_block
from grasp_core.config.dotted import task_code_refused_here
from grasp_core.config.locate import located
from grasp_core.config.postprocess import resolve_steps, step_specs
from grasp_core.config.sygra_history import history_findings
from grasp_core.config.sygra_keys import task_keys
from grasp_core.config.yaml_source import YamlDocument, load_yaml, parse_yaml
from grasp_core.errors import ConfigError
from grasp_core.logs import get_logger

__all__ = ["TASK_FILE_NAMES", "Task", "folder_task_file", "in_sygra_file", "task_file"]

_log = get_logger(__name__)


@dataclass(frozen=True)
class Task:
    """A task ready to compile. Build one from a file, YAML text, or a dict."""

    config: TaskConfig
    data: Mapping[str, Any]
    task_dir: Path
    name: str
    document: YamlDocument | None = None
    path: Path | None = None
    """The task file, when the task was loaded from one."""

    @classmethod
    def load(cls, path: str | Path) -> Task:
        """Read and validate a task file (a folder means its task file: see
        :func:`task_file`)."""
        file = task_file(Path(path))
        document = load_yaml(file)
        task = cls._from_document(document, task_dir=file.resolve().parent, name=file.stem)
        return dataclasses.replace(task, path=file.resolve())

    @classmethod
    def from_yaml(cls, text: str, *, task_dir: str | Path = ".", name: str = "task") -> Task:
        """Validate YAML text; relative paths resolve against ``task_dir``."""
        return cls._from_document(parse_yaml(text), task_dir=Path(task_dir).resolve(), name=name)

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, task_dir: str | Path = ".", name: str | None = None
    ) -> Task:
        """Validate a task built in Python (callables may stand where dotted paths go).

        Without ``name``, the task is named ``task-`` and the first 8 hex digits of its
        fingerprint: the name of its files when it has no sink (``output/NAME.jsonl``, with
        its journal and summary beside), so two different tasks built in one folder never
        share them, and the same task finds its journal again on resume."""
        config = validate_block(TaskConfig, dict(data), path=(), document=None)
        _check_steps(config, Path(task_dir).resolve(), None)
        task = cls(config=config, data=data, task_dir=Path(task_dir).resolve(), name=name or "")
        return task if name else dataclasses.replace(task, name=f"task-{task.fingerprint()[:8]}")

    @classmethod
    def _from_document(cls, document: YamlDocument, *, task_dir: Path, name: str) -> Task:
        data = document.data if document.data is not None else {}
        if in_sygra_file(document):
            data = task_keys(data)
            _sygra_history(data, document)
        config = validate_block(TaskConfig, data, path=(), document=document)
        _check_steps(config, task_dir, document)
        if in_sygra_file(document):
            config = _sygra_output_defaults(config)
        if name == "task":
            name = task_dir.name
        return cls(config=config, data=data, task_dir=task_dir, name=name, document=document)

    def fingerprint(self) -> str:
        """A hash of the task's content; a resume against a different task is refused.

        The ``budget`` block and the post-process steps are left out: raising a spending cap
        to continue a stopped run, or changing the steps run over the finished output,
        changes nothing about the records."""
        content = {key: value for key, value in self.data.items() if key not in _NOT_HASHED}
        canonical = json.dumps(content, sort_keys=True, default=_stable_name, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _sygra_history(data: Any, document: YamlDocument) -> None:
    """Where SyGra's chat history means something GraSP does not do (see
    :mod:`~grasp_core.config.sygra_history`), a warning naming the file, line and node: what
    ``grasp convert sygra`` refuses or notes. Not refused here: whether a loop ever reaches
    a node again (SyGra's transcript) depends on the records, and the file runs as written."""
    notes, problems = history_findings(data, Path(document.source).name)
    for problem in problems:
        path, _, message = problem.partition(": ")
        _log.warning(f"{document.where(tuple(path.split('.')))}: {message}")
    for note in notes:
        _log.warning(note)


TASK_FILE_NAMES = ("task.yaml", "graph_config.yaml")
"""The task file a folder holds: GraSP's name, then SyGra's."""


def task_file(path: Path) -> Path:
    """``path`` itself, or for a folder the first of :data:`TASK_FILE_NAMES` in it (what
    every command taking a task accepts: ``grasp run DIR``, ``grasp validate DIR``...)."""
    if not path.is_dir():
        return path
    for name in TASK_FILE_NAMES:
        if (path / name).is_file():
            return path / name
    raise ConfigError(
        f"{path}: a folder without {' or '.join(TASK_FILE_NAMES)}; pass the task file itself"
    )


def in_sygra_file(document: YamlDocument | None) -> bool:
    """Whether ``document`` is SyGra's task file (``graph_config.yaml``), where keys GraSP
    does not know take SyGra's meaning (see docs/how-to/coming-from-sygra.md)."""
    return document is not None and Path(document.source).name == TASK_FILE_NAMES[1]


def folder_task_file(spec: str, task_dir: Path) -> Path | None:
    """The task file of the folder ``spec`` names (SyGra names subgraphs so), or None.

    ``spec`` is a folder path (``subgraphs/answer``) or a dotted one
    (``tasks.recipes.answer``, as SyGra writes them from its repository's root); it is
    looked up from ``task_dir`` and then from each folder above it."""
    relative = Path(spec) if "/" in spec or "\\" in spec else Path(*spec.split("."))
    bases = [Path()] if relative.is_absolute() else [task_dir, *task_dir.parents]
    for base in bases:
        folder = base / relative
        if folder.is_dir():
            for name in TASK_FILE_NAMES:
                if (folder / name).is_file():
                    return folder / name
    return None


_NOT_HASHED = frozenset({"budget", "post_process", "graph_post_process"})


def _sygra_output_defaults(config: TaskConfig) -> TaskConfig:
    """In SyGra's task file, an output field whose `from` key a record lacks is null (SyGra
    writes it so), unless the field says `required: true`."""
    output = config.output_config
    if output is None or not output.output_map:
        return config
    fields = {
        name: field.model_copy(update={"required": False}) if field.required is None else field
        for name, field in output.output_map.items()
    }
    return config.model_copy(
        update={"output_config": output.model_copy(update={"output_map": fields})}
    )


def _check_steps(config: TaskConfig, task_dir: Path, document: YamlDocument | None) -> None:
    """Find every post-process step's class and validate its settings now, before a run
    spends anything on the records it would curate."""
    with located(document, ("graph_post_process",)):
        specs = step_specs(config.post_process, config.graph_post_process)
    if not task_code_refused_here():  # GraSP Studio: its child processes check them
        resolve_steps(specs, base_dir=task_dir, document=document)


def _stable_name(value: Any) -> str:
    """A name for a non-JSON value that is the same in every process (no memory addresses)."""
    target = value if callable(value) else type(value)
    module = getattr(target, "__module__", "?")
    return f"<{module}.{getattr(target, '__qualname__', type(target).__qualname__)}>"
