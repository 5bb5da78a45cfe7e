"""A run's failures grouped by node and reason, with their inputs; and running the task
again on only the failed records (:func:`grasp_core.retry_failures`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

import grasp_core
from grasp_studio.api._common import json_body, task_file, text_field, workspace
from grasp_studio.api.outputs import int_param, json_safe, output_param
from grasp_studio.openapi import operation

__all__ = ["routes"]


def failures(request: Request) -> Response:
    """``?output=...``: the groups, the largest first, each with its first records."""
    files = grasp_core.RunFiles.of(output_param(request))
    groups = grasp_core.failure_groups(
        files.failures, sample=int_param(request, "sample", 20, high=200)
    )
    return JSONResponse(
        json_safe(
            {
                "total": sum(group.count for group in groups),
                "groups": [group.to_json() for group in groups],
            }
        )
    )


async def retry(request: Request) -> Response:
    """``{"task": "<task file>"}``: run the task again on the records its run failed, and
    answer with what the retry did and where its output is."""
    body = await json_body(request)
    found = task_file(request, text_field(body, "task"))
    space = workspace(request)
    options = grasp_core.RunOptions(mock=space.mock, post_process=False)
    result = await grasp_core.retry_failures(found, options)
    output = result.output_paths[0] if result.output_paths else None
    return JSONResponse(
        {
            "done": result.done,
            "failed": result.failed,
            "output": space.relative(output) if output is not None else None,
        }
    )


routes: list[BaseRoute] = [
    Route("/api/failures", failures, methods=["GET"]),
    Route("/api/failures/retry", retry, methods=["POST"]),
]

openapi = {
    "GET /api/failures": operation(
        "A run's failures grouped by node and reason, with their inputs.",
        query={
            "output": {"type": "string", "minLength": 1},
            "sample": {"type": "integer", "minimum": 0, "maximum": 200},
        },
        required=["output"],
    ),
    "POST /api/failures/retry": operation(
        "Run a task again on only the records its run failed (under NAME.retry/).",
        body={"task": {"type": "string", "minLength": 1}},
        body_required=["task"],
        errors=(400, 404, 413),
    ),
}
