"""The mock's Files and Batch APIs: ``/v1/files`` and ``/v1/batches`` as OpenAI serves them
(Azure's ``/openai/files`` and ``/openai/batches`` too).

A batch is answered the way OpenAI's is, only faster: created ``validating``, then
``in_progress`` until :attr:`BatchPlan.delay` seconds have passed, then ended at the first
retrieval after that. Its lines are answered through the same chat path as live calls
(markers, echo replies, structured output), each logged with the path
``/v1/batches/<id>/v1/chat/completions``; creating a batch logs one entry with the path
``/v1/batches``, the batch id as ``key`` and its ``custom_id`` list as ``messages``, so a
test can prove which request was submitted in which batch, and how often.

:class:`BatchPlan` injects the failures a real provider shows: batches that end ``failed``
or ``expired``, and requests that fail inside a completed batch (error-file lines).
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final

from grasp_core.errors import ConfigError
from grasp_core.mock_server._dialects import Dialect, error_response, json_response
from grasp_core.mock_server._http import DROP, Drop, Request, Response
from grasp_core.mock_server._multipart import parse_form
from grasp_core.mock_server._replies import RequestError
from grasp_core.mock_server._request_log import RequestLog

__all__ = ["BATCH_PREFIXES", "BatchPlan", "BatchService"]

BATCH_PREFIXES: Final = ("/v1/files", "/v1/batches", "/openai/files", "/openai/batches")
"""Paths this module serves (Azure's without the ``/v1``)."""
_ENDPOINTS: Final = frozenset({"/v1/chat/completions", "/chat/completions"})

Answer = Callable[[Request, Dialect, str | None], Awaitable[Response | Drop]]
"""Answers one chat request as a live call would (the server's chat path)."""


@dataclass(frozen=True, slots=True)
class BatchPlan:
    """How the mock's batches end: after ``delay`` seconds, the first ``fail`` batches
    created end ``failed``, the next ``expire`` end ``expired``, the rest ``completed``;
    the first ``failed_requests`` requests answered inside completed batches fail (HTTP
    500 lines in the error file); the first ``lost_creates`` batches are made, but the
    connection is dropped before the answer (a create whose answer a client never saw);
    the first ``refused_polls`` retrievals of a batch are refused with 401 (a key revoked
    while batches run)."""

    delay: float = 0.0
    fail: int = 0
    expire: int = 0
    failed_requests: int = 0
    lost_creates: int = 0
    refused_polls: int = 0

    def __post_init__(self) -> None:
        names = ("delay", "fail", "expire", "failed_requests", "lost_creates", "refused_polls")
        for name in names:
            if getattr(self, name) < 0:
                raise ConfigError(f"batch plan: {name} must be >= 0, got {getattr(self, name)!r}")


@dataclass(slots=True)
class _Batch:
    body: dict[str, Any]
    created: float
    lines: list[dict[str, Any]] = field(default_factory=list)


class BatchService:
    """Files and batches kept in memory for the server's lifetime."""

    def __init__(self, plan: BatchPlan | None, log: RequestLog) -> None:
        self._plan = plan or BatchPlan()
        self._log = log
        self._files: dict[str, tuple[dict[str, Any], bytes]] = {}
        self._batches: dict[str, _Batch] = {}
        self._ended = 0
        self._failed_lines = 0
        self._refused = 0

    async def handle(self, request: Request, answer: Answer) -> Response | Drop:
        """Serve one request under :data:`BATCH_PREFIXES`."""
        path = request.path.removeprefix("/openai").removeprefix("/v1")
        parts = [p for p in path.split("/") if p]
        try:
            return await self._route(request, parts, answer)
        except _NotFoundError as exc:  # OpenAI's answer for an unknown file or batch id
            return error_response("openai", 404, str(exc))
        except RequestError as exc:
            return error_response("openai", 400, str(exc))

    async def _route(self, request: Request, parts: list[str], answer: Answer) -> Response | Drop:
        method = request.method
        if parts == ["files"] and method == "POST":
            return self._upload(request)
        if parts[:1] == ["files"] and len(parts) in (2, 3) and method == "GET":
            meta, data = self._file(parts[1])
            if len(parts) == 3 and parts[2] == "content":
                return Response(200, data, content_type="application/jsonl")
            return json_response(meta)
        if parts == ["batches"] and method == "POST":
            created = self._create(request)
            if len(self._batches) <= self._plan.lost_creates:
                return DROP
            return created
        if parts == ["batches"] and method == "GET":
            return self._list(request.query)
        if parts[:1] == ["batches"] and len(parts) == 2 and method == "GET":
            if self._refused < self._plan.refused_polls:
                self._refused += 1
                return error_response("openai", 401, "mock refusal (BatchPlan.refused_polls)")
            return json_response(await self._retrieve(parts[1], answer))
        if parts[:1] == ["batches"] and len(parts) == 3 and parts[2] == "cancel":
            batch = self._batch(parts[1])
            if batch.body["status"] in ("validating", "in_progress"):
                batch.body.update(status="cancelled", cancelled_at=int(time.time()))
            return json_response(batch.body)
        return error_response("openai", 404, f"unknown path {method} {request.path}")

    def _upload(self, request: Request) -> Response:
        form = {
            p.name: p for p in parse_form(request.headers.get("content-type", ""), request.body)
        }
        if "file" not in form or "purpose" not in form:
            raise RequestError("send the form fields `file` and `purpose`")
        return json_response(self._store(form["file"].data, form["purpose"].text(), "upload"))

    def _store(self, data: bytes, purpose: str, filename: str) -> dict[str, Any]:
        file_id = f"file-mock{len(self._files) + 1}"
        meta = {
            "id": file_id,
            "object": "file",
            "bytes": len(data),
            "created_at": int(time.time()),
            "filename": filename,
            "purpose": purpose,
        }
        self._files[file_id] = (meta, data)
        return meta

    def _file(self, file_id: str) -> tuple[dict[str, Any], bytes]:
        if file_id not in self._files:
            raise _NotFoundError(f"no such file: {file_id!r}")
        return self._files[file_id]

    def _batch(self, batch_id: str) -> _Batch:
        if batch_id not in self._batches:
            raise _NotFoundError(f"no such batch: {batch_id!r}")
        return self._batches[batch_id]

    def _create(self, request: Request) -> Response:
        try:
            asked = json.loads(request.body)
        except ValueError as exc:
            raise RequestError(f"the request body is not valid JSON: {exc}") from None
        meta, data = self._file(str(asked.get("input_file_id")))
        if meta["purpose"] != "batch":
            raise RequestError(f"file {meta['id']!r} was not uploaded with purpose 'batch'")
        endpoint = asked.get("endpoint")
        if endpoint not in _ENDPOINTS:
            raise RequestError(f"endpoint must be /v1/chat/completions, got {endpoint!r}")
        lines = _read_lines(data, str(endpoint))
        batch_id = f"batch_mock{len(self._batches) + 1}"
        body: dict[str, Any] = {
            "id": batch_id,
            "object": "batch",
            "endpoint": endpoint,
            "input_file_id": meta["id"],
            "completion_window": asked.get("completion_window", "24h"),
            "status": "validating",
            "output_file_id": None,
            "error_file_id": None,
            "errors": None,
            "created_at": int(time.time()),
            "metadata": asked.get("metadata"),
            "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
        }
        self._batches[batch_id] = _Batch(body, time.monotonic(), lines)
        ids = [line["custom_id"] for line in lines]
        self._log.record(request.path, None, batch_id, 200, None, ids)
        return json_response(body)

    def _list(self, query: dict[str, str]) -> Response:
        newest = [b.body for b in reversed(self._batches.values())]
        after = query.get("after")
        if after is not None:
            ids = [b["id"] for b in newest]
            newest = newest[ids.index(after) + 1 :] if after in ids else []
        limit = int(query.get("limit", "20"))
        page = newest[:limit]
        return json_response(
            {
                "object": "list",
                "data": page,
                "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None,
                "has_more": len(newest) > limit,
            }
        )

    async def _retrieve(self, batch_id: str, answer: Answer) -> dict[str, Any]:
        batch = self._batch(batch_id)
        body = batch.body
        if body["status"] not in ("validating", "in_progress"):
            return body
        if time.monotonic() - batch.created < self._plan.delay:
            body["status"] = "in_progress"
            return body
        plan, self._ended = self._plan, self._ended + 1
        if self._ended <= plan.fail:
            message = "mock batch failure (BatchPlan.fail)"
            body["errors"] = {
                "object": "list",
                "data": [{"code": "mock_failed", "message": message}],
            }
            body.update(status="failed", failed_at=int(time.time()))
        elif self._ended <= plan.fail + plan.expire:
            body.update(status="expired", expired_at=int(time.time()))
        else:
            await self._complete(batch_id, batch, answer)
        return body

    async def _complete(self, batch_id: str, batch: _Batch, answer: Answer) -> None:
        """Answer every line; write the output and error files."""
        done: list[str] = []
        failed: list[str] = []
        for number, line in enumerate(batch.lines):
            custom_id = line["custom_id"]
            if self._failed_lines < self._plan.failed_requests:
                self._failed_lines += 1
                failed.append(_error_line(custom_id, number, 500, "mock request failure"))
                continue
            body = json.dumps(line["body"]).encode()
            path = f"/v1/batches/{batch_id}{line['url']}"
            reply = await answer(
                Request("POST", path, {}, {}, body, keep_alive=True), "openai", None
            )
            if isinstance(reply, Drop) or reply.status != 200:
                status = 500 if isinstance(reply, Drop) else reply.status
                failed.append(_error_line(custom_id, number, status, "mock fault"))
                continue
            response = {"status_code": 200, "body": json.loads(reply.body)}
            done.append(_line(custom_id, number, response))
        ended = batch.body
        if done:
            ended["output_file_id"] = self._store(_jsonl(done), "batch_output", "output")["id"]
        if failed:
            ended["error_file_id"] = self._store(_jsonl(failed), "batch_output", "errors")["id"]
        counts = {"total": len(batch.lines), "completed": len(done), "failed": len(failed)}
        ended.update(status="completed", completed_at=int(time.time()), request_counts=counts)


class _NotFoundError(RequestError):
    """An id the server does not know (404)."""


def _read_lines(data: bytes, endpoint: str) -> list[dict[str, Any]]:
    """The batch file's requests, checked as OpenAI checks them at creation."""
    lines: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, raw in enumerate(data.splitlines(), start=1):
        try:
            line = json.loads(raw)
        except ValueError:
            raise RequestError(f"line {number} of the batch file is not JSON") from None
        custom_id = line.get("custom_id") if isinstance(line, dict) else None
        if not isinstance(custom_id, str) or custom_id in seen:
            raise RequestError(f"line {number}: custom_id missing or repeated ({custom_id!r})")
        if line.get("method") != "POST" or line.get("url") != endpoint:
            raise RequestError(f"line {number}: method must be POST and url {endpoint!r}")
        seen.add(custom_id)
        lines.append(line)
    if not lines:
        raise RequestError("the batch file holds no requests")
    return lines


def _error_line(custom_id: str, number: int, status: int, message: str) -> str:
    error = {"message": message, "type": "server_error", "code": "mock_fault"}
    return _line(custom_id, number, {"status_code": status, "body": {"error": error}})


def _line(custom_id: str, number: int, response: dict[str, Any]) -> str:
    """One line of an output or error file, as OpenAI writes them."""
    response = {**response, "request_id": f"req_mock{number}"}
    line = {"id": f"batch_req_{number}", "custom_id": custom_id, "response": response}
    return json.dumps({**line, "error": None})


def _jsonl(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()
