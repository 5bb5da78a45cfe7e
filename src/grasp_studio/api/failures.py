"""A run's failures grouped by node and reason, with their inputs. Running the failed records
again is a watched run (``grasp run --retry-failures``, started by ``POST /api/runs/start``
with ``retry_failures``), not work done inside a request."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

import grasp_core
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


routes: list[BaseRoute] = [
    Route("/api/failures", failures, methods=["GET"]),
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
}
