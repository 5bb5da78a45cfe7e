"""Review: accept, reject, edit or rate records. Annotations are appended to
``NAME.annotations.jsonl`` beside the output (never the output itself); a record's last
annotation wins, and ``grasp filter`` reads them."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

import grasp_core
from grasp_studio.api._common import json_body
from grasp_studio.api.outputs import json_safe, output_path
from grasp_studio.openapi import operation

__all__ = ["routes"]

_FIELDS = ("verdict", "rating", "edit", "note")
_MAX_ID = 512


def _output(request: Request, relative: object) -> grasp_core.RunFiles:
    if not isinstance(relative, str) or not relative:
        raise HTTPException(400, 'name the run\'s output: {"output": "<path of its output>"}')
    return grasp_core.RunFiles.of(output_path(request, relative))


def list_annotations(request: Request) -> Response:
    """``?output=...``: every record's annotation, by id."""
    files = _output(request, request.query_params.get("output"))
    return JSONResponse(json_safe(grasp_core.read_annotations(files.annotations)))


async def save_annotation(request: Request) -> Response:
    """``{"output", "id", ...}`` with any of ``verdict``, ``rating``, ``edit``, ``note``:
    the fields given replace the record's current ones (``null`` clears one); the whole
    annotation is appended and returned."""
    body = await json_body(request)
    files = _output(request, body.get("output"))
    record_id = body.get("id")
    if not isinstance(record_id, str | int) or isinstance(record_id, bool) or record_id == "":
        raise HTTPException(400, 'name the record: {"id": "<its id>"}')
    if len(str(record_id)) > _MAX_ID:
        raise HTTPException(400, f"a record id is at most {_MAX_ID} characters")
    current = grasp_core.read_annotations(files.annotations).get(str(record_id), {})
    merged = {key: body[key] if key in body else current.get(key) for key in _FIELDS}
    saved = grasp_core.annotate(files.annotations, str(record_id), **merged)
    return JSONResponse(json_safe(saved))


routes: list[BaseRoute] = [
    Route("/api/annotations", list_annotations, methods=["GET"]),
    Route("/api/annotations", save_annotation, methods=["POST"]),
]

_OUTPUT: dict[str, dict[str, Any]] = {"output": {"type": "string", "minLength": 1}}
openapi = {
    "GET /api/annotations": operation(
        "Every record's review of a run's output, by record id.", query=_OUTPUT, required=["output"]
    ),
    "POST /api/annotations": operation(
        "Review a record: the fields given replace its current review (null clears one).",
        body={
            **_OUTPUT,
            "id": {"type": "string", "minLength": 1, "maxLength": _MAX_ID},
            "verdict": {"enum": ["accept", "reject", None]},
            "rating": {"type": ["integer", "null"], "minimum": 1, "maximum": 5},
            "note": {"type": ["string", "null"]},
            "edit": {"type": ["object", "null"]},
        },
        body_required=["output", "id"],
        errors=(400, 404, 413),
    ),
}
