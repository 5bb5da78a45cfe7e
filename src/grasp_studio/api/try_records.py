"""Trying a task on a few records before paying for a run: the records to pick from, and
``grasp preview`` over the picked ones (per node: the prompt as sent, the raw reply, the
state change, tokens, latency and cost; and the estimate of the whole run).

Both run in a child process (:mod:`grasp_studio.child`), after the task's files were
checked to be inside the workspace (:mod:`grasp_studio.task_guard`)."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from grasp_studio.api._common import json_body, task_file, text_field, workspace
from grasp_studio.child import run_child
from grasp_studio.openapi import operation
from grasp_studio.task_guard import check_task

__all__ = ["routes"]

_MAX_PICK = 20
"""Most records one try runs (a try is a look, not a run)."""
_LIST_LIMIT = 200


async def source_records(request: Request) -> JSONResponse:
    """The first records of the task's source (``limit``, at most 200) to pick from."""
    path = task_file(request, request.query_params.get("path"))
    try:
        limit = min(_LIST_LIMIT, max(1, int(request.query_params.get("limit", "20"))))
    except ValueError:
        raise HTTPException(400, "`limit` must be a whole number") from None
    ws = workspace(request)
    await anyio.to_thread.run_sync(check_task, ws, path)
    listed = await run_child(
        request, ws, ["grasp_studio.child_tasks", "records", str(path), str(limit)], path.parent
    )
    return JSONResponse(listed)


async def try_records(request: Request) -> JSONResponse:
    """Run the graph on the records whose ids are in ``records`` (or the first ``sample``)
    and return what each node did, with the estimate of the full run. Nothing is written
    where the task's run writes."""
    body = await json_body(request)
    ws = workspace(request)
    path = task_file(request, text_field(body, "path"))
    args = ["grasp_core", "preview", str(path), "--json"]
    if ws.mock or bool(body.get("mock")):
        args.append("--mock")
    ids = body.get("records")
    if ids:
        if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
            raise HTTPException(400, "`records` must be a list of record ids")
        if len(ids) > _MAX_PICK:
            raise HTTPException(400, f"try at most {_MAX_PICK} records at once")
        if any("," in i for i in ids):
            raise HTTPException(400, "a record id with a comma cannot be picked; try by `sample`")
        args += ["--records", ",".join(dict.fromkeys(ids))]
    else:
        sample = body.get("sample", 2)
        if not isinstance(sample, int) or isinstance(sample, bool) or not 1 <= sample <= _MAX_PICK:
            raise HTTPException(400, f"`sample` must be a whole number from 1 to {_MAX_PICK}")
        args += ["-n", str(sample)]
    await anyio.to_thread.run_sync(check_task, ws, path)
    result: dict[str, Any] = await run_child(request, ws, args, path.parent)
    result["task"] = ws.relative(path)
    return JSONResponse(result)


routes: list[BaseRoute] = [
    Route("/api/try/records", source_records, methods=["GET"]),
    Route("/api/try", try_records, methods=["POST"]),
]

_PATH = {"path": {"type": "string", "minLength": 1}}
openapi = {
    "GET /api/try/records": operation(
        "The first records of a task's source.",
        query={**_PATH, "limit": {"type": "integer", "minimum": 1, "maximum": _LIST_LIMIT}},
        required=["path"],
    ),
    "POST /api/try": operation(
        "Run the graph on a few records and show each node; estimate the whole run.",
        body={
            **_PATH,
            "records": {"type": "array", "items": {"type": "string"}, "maxItems": _MAX_PICK},
            "sample": {"type": "integer", "minimum": 1, "maximum": _MAX_PICK},
            "mock": {"type": "boolean"},
        },
        body_required=["path"],
        errors=(400, 404, 413),
    ),
}
