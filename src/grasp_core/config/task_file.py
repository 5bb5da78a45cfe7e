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
from grasp_core.config.yaml_source import YamlDocument, load_yaml, parse_yaml

__all__ = ["Task"]


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
        """Read and validate a task file (a folder means its ``task.yaml``)."""
        file = Path(path)
        if file.is_dir():
            file = file / "task.yaml"
        document = load_yaml(file)
        task = cls._from_document(document, task_dir=file.resolve().parent, name=file.stem)
        return dataclasses.replace(task, path=file.resolve())

    @classmethod
    def from_yaml(cls, text: str, *, task_dir: str | Path = ".", name: str = "task") -> Task:
        """Validate YAML text; relative paths resolve against ``task_dir``."""
        return cls._from_document(parse_yaml(text), task_dir=Path(task_dir).resolve(), name=name)

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, task_dir: str | Path = ".", name: str = "task"
    ) -> Task:
        """Validate a task built in Python (callables may stand where dotted paths go)."""
        config = validate_block(TaskConfig, dict(data), path=(), document=None)
        return cls(config=config, data=data, task_dir=Path(task_dir).resolve(), name=name)

    @classmethod
    def _from_document(cls, document: YamlDocument, *, task_dir: Path, name: str) -> Task:
        data = document.data if document.data is not None else {}
        config = validate_block(TaskConfig, data, path=(), document=document)
        if name == "task":
            name = task_dir.name
        return cls(config=config, data=data, task_dir=task_dir, name=name, document=document)

    def fingerprint(self) -> str:
        """A hash of the task's content; a resume against a different task is refused.

        The ``budget`` block is left out: raising a spending cap to continue a stopped run
        changes nothing about the records."""
        content = {key: value for key, value in self.data.items() if key != "budget"}
        canonical = json.dumps(content, sort_keys=True, default=_stable_name, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _stable_name(value: Any) -> str:
    """A name for a non-JSON value that is the same in every process (no memory addresses)."""
    target = value if callable(value) else type(value)
    module = getattr(target, "__module__", "?")
    return f"<{module}.{getattr(target, '__qualname__', type(target).__qualname__)}>"
