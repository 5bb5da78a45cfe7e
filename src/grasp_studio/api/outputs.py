"""Reading a run's output: the runs of a task, a page of the output table (sorted and
filtered server-side), its row count, and the media files records point to.

A run is named by its output's path inside the workspace (``?output=tasks/qa/output/qa.jsonl``);
the other views (record, failures, compare, review) take the same parameter. The helpers
here that read request parameters are theirs too.
"""

from __future__ import annotations

import base64
import math
import mimetypes
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

import grasp_core
from grasp_studio.api._common import task_file, workspace
from grasp_studio.openapi import operation
from grasp_studio.workspace import Workspace

__all__ = [
    "int_param",
    "json_safe",
    "output_param",
    "output_path",
    "routes",
    "task_runs",
]

MAX_PAGE = 500
"""Most rows one page request returns (the table asks for a window at a time)."""
_MEDIA_PREFIXES = ("image/", "audio/", "video/")
_INLINE_BYTES = 2 << 20
"""Largest image held in a cell (a Parquet or ``hf`` image column) sent as a data URL."""
_MAGIC = {b"\x89PNG": "image/png", b"\xff\xd8\xff": "image/jpeg", b"GIF8": "image/gif"}
_BESIDE = ("journal", "failures", "summary", "metrics", "annotations")
"""The files beside an output the Studio reads or appends to (see ``grasp_core.RunFiles``)."""


def int_param(
    request: Request, name: str, default: int, *, low: int = 0, high: int | None = None
) -> int:
    """The query parameter ``name`` as a whole number in ``[low, high]``; a 400 otherwise."""
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise HTTPException(400, f"{name}={text!r} is not a whole number") from None
    if value < low or (high is not None and value > high):
        bound = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise HTTPException(400, f"{name}={value} is out of range: give a number {bound}")
    return value


def output_param(request: Request, name: str = "output") -> Path:
    """The run output named by the query parameter ``name`` (a path inside the workspace)."""
    relative = request.query_params.get(name)
    if not relative:
        raise HTTPException(400, f"name the run's output: ?{name}=<path of its output file>")
    return output_path(request, relative)


def output_path(request: Request, relative: str) -> Path:
    """The run output at ``relative`` in the workspace: an existing JSONL, JSON, CSV or
    Parquet file, or a dataset folder (a 400 for any other file: a task or models file is
    no output, and is never read as one). Files in hidden folders (``.secrets/``) are no
    outputs, and neither is one whose journal, summary or annotations file beside it leads
    out of the workspace (a symlink): both are a 404."""
    space = workspace(request)
    path = space.resolve(relative)
    if not path.exists() or _hidden(space, path):
        raise HTTPException(404, f"{relative!r} does not exist in the workspace")
    escaping = _escaping_file(space, grasp_core.RunFiles.of(path))
    if escaping is not None:
        raise HTTPException(404, f"{escaping.name} beside {relative!r} is outside the workspace")
    if grasp_core.RunFiles.of(path).output_format is None:
        raise HTTPException(
            400,
            f"{relative!r} is not a run output: name a JSONL, JSON, CSV or Parquet file, or "
            "an hf dataset folder",
        )
    return path


def _hidden(space: Workspace, path: Path) -> bool:
    """Whether ``path`` (inside the workspace) is in a hidden folder or is hidden itself."""
    return any(part.startswith(".") for part in path.relative_to(space.root).parts)


def _escaping_file(space: Workspace, files: grasp_core.RunFiles) -> Path | None:
    """The first file beside the output whose real location (a symlink followed) is outside
    the workspace, if any: it is then never read, shown or appended to."""
    for name in _BESIDE:
        beside: Path = getattr(files, name)
        if (beside.is_symlink() or beside.exists()) and not space.contains(beside):
            return beside
    return None


def task_runs(request: Request, task: str | None) -> list[dict[str, Any]]:
    """The runs under a task's folder (or the whole workspace), the task's own output first."""
    space = workspace(request)
    folder = space.root
    main: Path | None = None
    if task:
        found_task = task_file(request, task)
        folder = found_task.parent
        main = _main_output(found_task)
    found = []
    for run in grasp_core.find_runs(folder):
        if not space.contains(run.output) or _hidden(space, run.output.resolve()):
            continue
        if _escaping_file(space, run) is not None:
            continue  # listed nowhere, opened nowhere (see output_path)
        summary = run.summary_data() or {}
        found.append(
            {
                "output": space.relative(run.output),
                "format": run.output_format,
                "main": main is not None and run.output.resolve() == main,
                "done": summary.get("done"),
                "failed": summary.get("failed"),
                "finished": bool(summary),
                "has_failures": run.failures.is_file() and run.failures.stat().st_size > 0,
                "annotations": run.annotations.is_file(),
            }
        )
    found.sort(key=lambda run: not run["main"])
    return found


def _main_output(task_file: Path) -> Path | None:
    """Where the task's first sink writes (``None`` if the task does not load)."""
    try:
        task = grasp_core.Task.load(task_file)
    except grasp_core.GraspError:
        return None
    return grasp_core.RunFiles.of_task(task).output.resolve()


def json_safe(value: Any) -> Any:
    """``value`` as JSON can carry it: bytes of an image become a data URL, other bytes
    their size; dates their ISO text; NaN and infinities their name."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, bytes | bytearray):
        kind = next((t for m, t in _MAGIC.items() if value.startswith(m)), None)
        if kind is not None and len(value) <= _INLINE_BYTES:
            return f"data:{kind};base64,{base64.b64encode(value).decode()}"
        return f"<{len(value)} bytes>"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # NaN and infinities are not JSON: shown as text
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _where(request: Request) -> list[str]:
    return [w for w in request.query_params.getlist("where") if w.strip()]


def list_runs(request: Request) -> Response:
    task = request.query_params.get("task")
    return JSONResponse({"runs": task_runs(request, task)})


def output_page(request: Request) -> Response:
    path = output_param(request)
    table = grasp_core.OutputTable.open(path)
    page = table.page(
        int_param(request, "offset", 0),
        int_param(request, "limit", 50, high=MAX_PAGE),
        sort=request.query_params.get("sort") or None,
        descending=request.query_params.get("desc") in ("1", "true"),
        where=_where(request),
        reviews=grasp_core.annotations_beside(path),
    )
    reviews = grasp_core.read_annotations(grasp_core.annotations_beside(path))
    rows = [{**row, "annotation": reviews.get(str(row["record"].get("id")))} for row in page.rows]
    body = {**page.to_json(), "rows": json_safe(rows)}
    return JSONResponse(body)


def output_count(request: Request) -> Response:
    path = output_param(request)
    reviews = grasp_core.annotations_beside(path)
    total = grasp_core.OutputTable.open(path).count(_where(request), reviews=reviews)
    return JSONResponse({"total": total})


def media(request: Request) -> Response:
    """A media file a record points to, relative to the output's folder; only images,
    audio and video are served."""
    output = output_param(request)
    relative = request.query_params.get("path", "")
    space = workspace(request)
    base = space.relative(output.parent)
    path = space.resolve(f"{base}/{relative}" if base != "." else relative)
    kind, _ = mimetypes.guess_type(path.name)
    if not path.is_file():
        raise HTTPException(404, f"{relative!r} is not a file beside the output")
    if kind is None or not kind.startswith(_MEDIA_PREFIXES):
        raise HTTPException(400, f"{relative!r} is not an image, audio or video file")
    return FileResponse(path, media_type=kind, headers={"cache-control": "private, max-age=3600"})


routes: list[BaseRoute] = [
    Route("/api/outputs", list_runs, methods=["GET"]),
    Route("/api/output/page", output_page, methods=["GET"]),
    Route("/api/output/count", output_count, methods=["GET"]),
    Route("/api/output/media", media, methods=["GET"]),
]

_OUTPUT: dict[str, dict[str, Any]] = {"output": {"type": "string", "minLength": 1}}
_TABLE: dict[str, dict[str, Any]] = {
    **_OUTPUT,
    "where": {"type": "string"},
}
openapi = {
    "GET /api/outputs": operation(
        "The runs under a task's folder (or the workspace), the task's own output first.",
        query={"task": {"type": "string"}},
    ),
    "GET /api/output/page": operation(
        "A page of a run's output, sorted and filtered on the server.",
        query={
            **_TABLE,
            "offset": {"type": "integer", "minimum": 0},
            "limit": {"type": "integer", "minimum": 0, "maximum": MAX_PAGE},
            "sort": {"type": "string"},
            "desc": {"enum": ["", "0", "1", "true", "false"]},
        },
        required=["output"],
    ),
    "GET /api/output/count": operation(
        "The rows of a run's output, or those a filter keeps.", query=_TABLE, required=["output"]
    ),
    "GET /api/output/media": operation(
        "An image, audio or video file beside a run's output.",
        query={**_OUTPUT, "path": {"type": "string", "minLength": 1}},
        required=["output", "path"],
        media="application/octet-stream",
    ),
}
