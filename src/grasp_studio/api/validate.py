"""``grasp validate`` for the flow view: a task's problems, each with the workspace file, the
line and the node it is about, so the view marks them on the node and the YAML line."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

import grasp_core
from grasp_studio.api._common import task_file, workspace
from grasp_studio.openapi import operation

__all__ = ["routes"]


async def validate(request: Request) -> JSONResponse:
    """The problems of the task at ``path`` (an empty list: it is valid). Model API keys
    are not required when the Studio runs with ``--mock``."""
    ws = workspace(request)
    path = task_file(request, request.query_params.get("path"))
    problems = await grasp_core.task_problems(path, mock=ws.mock)
    shown = []
    for problem in problems:
        item = problem.to_dict()
        item["file"] = _in_workspace(ws.root, problem.file)
        item["message"] = ws.hide_root(problem.message)
        shown.append(item)
    return JSONResponse({"path": ws.relative(path), "ok": not shown, "problems": shown})


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
