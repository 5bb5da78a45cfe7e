"""One record of an output: the record, its node-by-node trace from the run's journal, its
failure if it failed, its review annotation, and the media files it points to."""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator, Mapping
from pathlib import PurePosixPath
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

import grasp_core
from grasp_studio.api.outputs import int_param, json_safe, output_param
from grasp_studio.openapi import operation

__all__ = ["media_in", "routes"]

_MEDIA = ("image", "audio", "video")


def media_in(record: Mapping[str, Any]) -> list[dict[str, str]]:
    """The media a record points to: ``{"field", "kind", "path"}`` for a file beside the
    output (a media node's ``{path, type}`` or a string naming an image or audio file) and
    ``{"field", "kind", "src"}`` for an image held as a data URL."""
    found: list[dict[str, str]] = []
    for field, value in _leaves(record, ""):
        inline = value.get("bytes") if isinstance(value, Mapping) else None
        if isinstance(inline, str) and inline.startswith("data:image/"):
            found.append({"field": field, "kind": "image", "src": inline})  # an Image column
        elif isinstance(value, Mapping) and isinstance(value.get("path"), str):
            kind = str(value.get("type") or mimetypes.guess_type(value["path"])[0] or "")
            if kind.split("/")[0] in _MEDIA and _relative(value["path"]):
                found.append({"field": field, "kind": kind.split("/")[0], "path": value["path"]})
        elif isinstance(value, str) and value.startswith("data:image/"):
            found.append({"field": field, "kind": "image", "src": value})
        elif isinstance(value, str) and len(value) < 400 and _relative(value):
            kind = (mimetypes.guess_type(value)[0] or "").split("/")[0]
            if kind in _MEDIA:
                found.append({"field": field, "kind": kind, "path": value})
    return found


def _relative(text: str) -> bool:
    """A relative path with no way up: something beside the output."""
    path = PurePosixPath(text)
    return bool(text) and not path.is_absolute() and ".." not in path.parts and "://" not in text


def _leaves(value: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    """Each media candidate with its dotted path: dicts holding a ``path``, and strings."""
    if isinstance(value, Mapping):
        if ("path" in value or "bytes" in value) and prefix:
            yield prefix, value
            return
        for key, item in value.items():
            yield from _leaves(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:100]):
            yield from _leaves(item, f"{prefix}.{index}")
    elif isinstance(value, str):
        yield prefix, value


def record(request: Request) -> Response:
    """``?output=...&row=N`` or ``&id=ID``: the record and what the run did with it."""
    path = output_param(request)
    table = grasp_core.OutputTable.open(path)
    record_id = request.query_params.get("id")
    if record_id is not None and "row" not in request.query_params:
        row = table.row_of(record_id)
    else:
        row = int_param(request, "row", 0)
    data: dict[str, Any] | None = None
    if row is not None:
        try:
            data = table.record(row)
        except IndexError:
            raise HTTPException(404, f"the output has no row {row}") from None
        record_id = str(data.get("id")) if data.get("id") is not None else record_id
    files = grasp_core.RunFiles.of(path)
    if record_id is None:
        raise HTTPException(404, "the record has no id, so the journal cannot be searched")
    trace = grasp_core.record_trace(files.journal, record_id, files.failures)
    if data is None and trace.status == "unknown":
        raise HTTPException(404, f"no record {record_id!r} in the output or the journal")
    reviews = grasp_core.read_annotations(files.annotations)
    data = json_safe(data)
    body = {
        "row": row,
        "id": record_id,
        "record": data,
        "trace": trace.to_json(),
        "annotation": reviews.get(record_id),
        "media": media_in(data or {}),
    }
    return JSONResponse(json_safe(body))


routes: list[BaseRoute] = [Route("/api/record", record, methods=["GET"])]

openapi = {
    "GET /api/record": operation(
        "One record of a run's output (by row or id) with its trace, failure, review and media.",
        query={
            "output": {"type": "string", "minLength": 1},
            "row": {"type": "integer", "minimum": 0},
            "id": {"type": "string"},
        },
        required=["output"],
    ),
}
