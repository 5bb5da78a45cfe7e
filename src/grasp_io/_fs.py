"""File-system helpers shared by the disk sources and sinks."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

import grasp_core
from grasp_core.errors import ConfigError

__all__ = ["coerce_config", "discard", "fsync_dir", "resolve_path"]

_Model = TypeVar("_Model", bound=BaseModel)


def resolve_path(file_path: str, base_dir: Path) -> Path:
    """Return ``file_path`` as an absolute path; relative paths resolve against ``base_dir``.
    With ``GRASP_DATA_ROOT`` set (GraSP Studio's tries and runs), its real location inside
    that folder, or a ``ConfigError``."""
    path = (base_dir / Path(file_path).expanduser()).absolute()
    return grasp_core.confine_data_path(path, "data file")


def discard(temporary: Path) -> None:
    """Remove a half-written temporary file (after a full disk, say), if it can be removed:
    a failed write leaves no ``.tmp`` behind."""
    with contextlib.suppress(OSError):
        temporary.unlink(missing_ok=True)


def fsync_dir(directory: Path) -> None:
    """Make new names in ``directory`` durable (a no-op where directories cannot be synced)."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def coerce_config(config: BaseModel, model: type[_Model]) -> _Model:
    """Return ``config`` as a ``model`` instance, re-validating a foreign model's fields."""
    if isinstance(config, model):
        return config
    try:
        return model.model_validate(config.model_dump())
    except ValidationError as exc:
        raise ConfigError(
            f"{type(config).__name__} is not a valid {model.__name__}: {exc}; "
            f"pass the config built from {model.__name__}"
        ) from exc
