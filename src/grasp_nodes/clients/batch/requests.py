"""A batched request's JSONL line, its ``custom_id``, and the provider's answer to it.

The ``custom_id`` is the response cache's ``record``-mode key (:func:`request_key`): a
sha256 over the request (route, endpoint, parameters, messages) and its place in its
record (record id, node path, loop iteration, and how many identical requests that node
run made before). A resumed run asks the same requests in the same places, so each gets
the same id back: that is what lets the ledger recognise work already submitted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from grasp_core.plugin import ModelSpec, request_key

__all__ = ["BatchAnswer", "batch_line", "custom_id_for", "read_answers"]


def custom_id_for(
    spec: ModelSpec, endpoint: str | None, messages: list[dict[str, Any]], params: Mapping[str, Any]
) -> str:
    """The request's id in a batch (64 hex digits), the same in every run of the task.

    Outside a node run (no record to place it in) it is the request's content key, made
    unique by the number of such requests the process asked before."""
    key = request_key(
        route=spec.model,
        api_base=endpoint,
        api_version=spec.api_version,
        messages=messages,
        params=params,
        mode="record",
    )
    if key is not None:
        return key
    content = [spec.model, endpoint, messages, dict(params), next(_UNPLACED)]
    raw = json.dumps(content, sort_keys=True, default=repr).encode()
    return hashlib.sha256(raw).hexdigest()


_UNPLACED = iter(range(2**63))


def batch_line(custom_id: str, url: str, body: Mapping[str, Any]) -> bytes:
    """One line of a batch input file (with its newline)."""
    line = {"custom_id": custom_id, "method": "POST", "url": url, "body": body}
    return json.dumps(line, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


@dataclass(frozen=True, slots=True)
class BatchAnswer:
    """The provider's answer to one request of a batch: a body, or why it failed."""

    status: int
    body: bytes | None = None
    error: str | None = None


def read_answers(data: bytes) -> dict[str, BatchAnswer]:
    """The lines of an output or error file, by ``custom_id``. A line that cannot be read
    is skipped: its request then counts as unanswered (and is submitted again)."""
    answers: dict[str, BatchAnswer] = {}
    for raw in data.splitlines():
        try:
            line = json.loads(raw)
            custom_id = str(line["custom_id"])
        except (ValueError, KeyError, TypeError):
            continue
        response = line.get("response") or {}
        status = int(response.get("status_code") or 0) if isinstance(response, dict) else 0
        body = response.get("body") if isinstance(response, dict) else None
        if status == 200 and isinstance(body, dict):
            answers[custom_id] = BatchAnswer(200, json.dumps(body).encode())
        else:
            answers[custom_id] = BatchAnswer(status or 500, error=_reason(line, body))
    return answers


def _reason(line: Mapping[str, Any], body: Any) -> str:
    """What an error line says went wrong."""
    for where in (line.get("error"), body.get("error") if isinstance(body, dict) else None):
        if isinstance(where, dict):
            return str(where.get("message") or where.get("code") or where)
        if isinstance(where, str):
            return where
    return "no answer in the batch's output"
