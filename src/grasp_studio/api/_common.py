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
_MAX_DEPTH = 64
"""Deepest nesting of a JSON body (a task's config is a few levels deep)."""


def workspace(request: Request) -> Workspace:
    ws: Workspace = request.app.state.workspace
    return ws


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object; anything else is a 400 saying so (413: too large, read
    no further than the limit; 400: nested deeper than :data:`_MAX_DEPTH`)."""
    raw = await _capped_body(request)
    too_deep = HTTPException(400, f"the request body is nested deeper than {_MAX_DEPTH} levels")
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise HTTPException(400, "the request body is not JSON") from None
    except RecursionError:  # deeper than Python's own parser goes
        raise too_deep from None
    if _depth(body) > _MAX_DEPTH:
        raise too_deep
    if not isinstance(body, dict):
        raise HTTPException(400, "the request body must be a JSON object")
    return body


async def _capped_body(request: Request) -> bytes:
    """The body, refused (413) as soon as its declared or received size passes the limit:
    a huge body is never held in memory."""
    too_large = HTTPException(413, f"the request body is larger than {_MAX_BODY} bytes")
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise HTTPException(400, f"Content-Length {declared[:40]!r} is not a number")
        if int(declared) > _MAX_BODY:
            raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > _MAX_BODY:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _depth(value: Any) -> int:
    """How deep ``value`` (parsed JSON) nests, counted without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth <= _MAX_DEPTH:
                children = item.values() if isinstance(item, dict) else item
                stack.extend((child, depth + 1) for child in children)
    return deepest


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
