"""What the API modules share: the workspace of a request, JSON bodies, task paths."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request

from grasp_studio.workspace import Workspace

__all__ = ["json_body", "plain", "task_file", "text_field", "workspace", "write_text"]

_MAX_BODY = 4_000_000


def workspace(request: Request) -> Workspace:
    ws: Workspace = request.app.state.workspace
    return ws


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object; anything else is a 400 saying so."""
    raw = await request.body()
    if len(raw) > _MAX_BODY:
        raise HTTPException(413, f"the request body is larger than {_MAX_BODY} bytes")
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise HTTPException(400, "the request body is not JSON") from None
    if not isinstance(body, dict):
        raise HTTPException(400, "the request body must be a JSON object")
    return body


def text_field(body: dict[str, Any], name: str) -> str:
    """``body[name]`` as non-empty text (a 400 naming the field otherwise)."""
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise HTTPException(400, f"`{name}` must be a non-empty string")
    return value


def task_file(request: Request, relative: str | None) -> Path:
    """The task file at ``relative`` in the workspace: an existing ``.yaml``/``.yml`` file."""
    if not relative:
        raise HTTPException(400, "pass the task file's path in the workspace (`path`)")
    path = workspace(request).resolve(relative)
    if path.suffix not in (".yaml", ".yml"):
        raise HTTPException(400, f"{relative!r} is not a YAML task file")
    if not path.is_file():
        raise HTTPException(404, f"there is no task file {relative!r} in the workspace")
    return path


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all (a temporary file, then a rename), so
    an editor or a run reading the file never sees half of it."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        if path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o777)  # keep the file's permissions
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def plain(data: Any) -> Any:
    """``data`` (ruamel's round-trip types included) as plain JSON values."""
    return json.loads(json.dumps(data, default=str))
