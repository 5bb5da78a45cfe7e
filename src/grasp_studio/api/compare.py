"""Two runs of a task on the same inputs: their metrics side by side and a per-record diff
of their outputs, matched by record id (:func:`grasp_core.compare_runs`)."""

from __future__ import annotations

from typing import Any, cast

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

import grasp_core
from grasp_studio.api.outputs import MAX_PAGE, int_param, json_safe, output_param
from grasp_studio.openapi import operation

__all__ = ["routes"]

_STATUSES = ("changed", "same", "only_left", "only_right")


def compare(request: Request) -> Response:
    """``?left=...&right=...`` (two outputs), optional ``status=changed,only_left``,
    ``offset`` and ``limit``."""
    left, right = output_param(request, "left"), output_param(request, "right")
    wanted = [s for s in request.query_params.get("status", "").split(",") if s]
    unknown = [s for s in wanted if s not in _STATUSES]
    if unknown:
        raise HTTPException(400, f"status {unknown[0]!r}: use some of {', '.join(_STATUSES)}")
    comparison = grasp_core.compare_runs(left, right)
    total, diffs = comparison.diffs(
        int_param(request, "offset", 0),
        int_param(request, "limit", 50, high=MAX_PAGE),
        cast(Any, tuple(wanted)) or None,
    )
    return JSONResponse(
        json_safe(
            {
                "metrics": {
                    "left": grasp_core.run_metrics(left),
                    "right": grasp_core.run_metrics(right),
                },
                "counts": comparison.counts(),
                "total": total,
                "diffs": [diff.to_json() for diff in diffs],
            }
        )
    )


routes: list[BaseRoute] = [Route("/api/compare", compare, methods=["GET"])]

openapi = {
    "GET /api/compare": operation(
        "Two runs' metrics side by side and a per-record diff of their outputs, by id.",
        query={
            "left": {"type": "string", "minLength": 1},
            "right": {"type": "string", "minLength": 1},
            "status": {"type": "string"},
            "offset": {"type": "integer", "minimum": 0},
            "limit": {"type": "integer", "minimum": 0, "maximum": MAX_PAGE},
        },
        required=["left", "right"],
    ),
}
