"""``grasp validate`` for the flow view: a task's problems, each with the workspace file, the
line and the node it is about, so the view marks them on the node and the YAML line.

Checking compiles the graph, which imports the task's modules: it runs in a child process
(:mod:`grasp_studio.child`), after the task's files were checked to be inside the workspace
(a file outside is the one problem shown)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio.to_thread
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from grasp_core.errors import GraspError
from grasp_studio.api._common import task_file, workspace
from grasp_studio.child import run_child
from grasp_studio.openapi import operation
from grasp_studio.task_guard import check_task

__all__ = ["routes"]


async def validate(request: Request) -> JSONResponse:
    """The problems of the task at ``path`` (an empty list: it is valid). Model API keys
    are not required when the Studio runs with ``--mock``."""
    ws = workspace(request)
    path = task_file(request, request.query_params.get("path"))
    relative = ws.relative(path)
    try:
        await anyio.to_thread.run_sync(check_task, ws, path)
    except GraspError:
        pass  # a task that does not load: the child lists its problems
    except HTTPException as exc:  # a file outside the workspace: shown as the problem
        problem = {"file": relative, "line": None, "path": None, "node": None}
        shown = [{**problem, "message": str(exc.detail)}]
        return JSONResponse({"path": relative, "ok": False, "problems": shown})
    args = ["grasp_studio.child_tasks", "problems", str(path)] + (["--mock"] if ws.mock else [])
    problems: list[dict[str, Any]] = await run_child(request, ws, args, path.parent)
    shown = []
    for item in problems:
        item["file"] = _in_workspace(ws.root, item.get("file"))
        item["message"] = ws.hide_root(str(item.get("message", "")))
        shown.append(item)
    return JSONResponse({"path": relative, "ok": not shown, "problems": shown})


def _in_workspace(root: Path, file: str | None) -> str | None:
    """A problem's file as a workspace path (None when it is outside: a library's file)."""
    if file is None:
        return None
    resolved = Path(file).resolve()
    return resolved.relative_to(root).as_posix() if resolved.is_relative_to(root) else None


routes: list[BaseRoute] = [Route("/api/validate", validate, methods=["GET"])]

openapi = {
    "GET /api/validate": operation(
        "A task's problems, each with its file, line and node.",
        query={"path": {"type": "string", "minLength": 1}},
        required=["path"],
    ),
}
