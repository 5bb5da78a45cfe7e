"""The batcher against a fake provider: a poll the server refuses fails the parked records
with the reason and leaves the batch open in the ledger for a resume; a transient poll
failure is polled again; a request over ``max_bytes`` fails alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from grasp_core.config.models_file import BatchOptions
from grasp_core.errors import ModelCallError, RetryableModelError
from grasp_core.observe.metrics import RunMetrics
from grasp_nodes.clients.batch.batcher import Batcher
from grasp_nodes.clients.batch.ledger import BatchLedger
from grasp_nodes.clients.batch.requests import batch_line
from grasp_nodes.clients.batch.stats import BatchStats

pytestmark = pytest.mark.anyio

_REPLY = {"choices": [{"message": {"content": "ok"}, "finish_reason": "stop"}]}


class FakeProvider:
    """Answers uploads and creates; polls fail with ``errors`` in turn, then complete."""

    def __init__(self, errors: list[ModelCallError]) -> None:
        self.errors = errors
        self.polls = 0
        self.ids: list[str] = []

    async def upload(self, data: bytes) -> str:
        self.ids = [json.loads(line)["custom_id"] for line in data.splitlines()]
        return "file-1"

    async def create(self, file_id: str, window: str) -> dict[str, Any]:
        return {"id": "batch-1", "status": "validating"}

    async def retrieve(self, batch_id: str) -> dict[str, Any]:
        self.polls += 1
        if self.errors:
            raise self.errors.pop(0)
        return {"id": batch_id, "status": "completed", "output_file_id": "out-1"}

    async def content(self, file_id: str) -> bytes:
        lines = [
            {"custom_id": i, "response": {"status_code": 200, "body": _REPLY}} for i in self.ids
        ]
        return "\n".join(map(json.dumps, lines)).encode()

    async def find(self, file_id: str) -> dict[str, Any] | None:
        return None

    async def aclose(self) -> None:
        pass


def _batcher(tmp_path: Path, provider: FakeProvider, **options: Any) -> Batcher:
    settings = BatchOptions(max_requests=1, poll_interval=0.001, **options)
    ledger = BatchLedger(tmp_path / "ledger.jsonl")
    return Batcher("m", settings, provider, ledger, BatchStats(RunMetrics()))  # type: ignore[arg-type]


def _line(custom_id: str, text: str = "hi") -> bytes:
    body = {"model": "m", "messages": [{"role": "user", "content": text}]}
    return batch_line(custom_id, "/v1/chat/completions", body)


async def test_a_refused_poll_fails_the_records_and_keeps_the_batch_open(tmp_path: Path) -> None:
    """A 401 while polling fails the parked request at once, naming the batch and how to
    pick it up; the ledger has no end for it, so a resume polls it again."""
    provider = FakeProvider([ModelCallError("model 'm': GET batches/batch-1: bad key", status=401)])
    batcher = _batcher(tmp_path, provider)
    with anyio.fail_after(10), pytest.raises(ModelCallError) as caught:
        await batcher.submit("cid", _line("cid"))
    assert "cannot poll batch batch-1" in str(caught.value)
    assert "--resume polls it" in str(caught.value)
    assert batcher.ledger.model("m").open_batches() == ["batch-1"]


async def test_a_transient_poll_failure_is_polled_again(tmp_path: Path) -> None:
    """Two failed polls (after their retries) are followed by more polls, and the answer
    arrives."""
    errors: list[ModelCallError] = [RetryableModelError("down", status=503) for _ in range(2)]
    provider = FakeProvider(errors)
    batcher = _batcher(tmp_path, provider)
    with anyio.fail_after(10):
        body = json.loads(await batcher.submit("cid", _line("cid")))
    assert body == _REPLY
    assert provider.polls == 3


async def test_a_request_over_max_bytes_fails_alone(tmp_path: Path) -> None:
    """A request larger than `max_bytes` fails at once, and alone; nothing is sent."""
    provider = FakeProvider([])
    batcher = _batcher(tmp_path, provider, max_bytes=1024, max_wait=0)
    with anyio.fail_after(10), pytest.raises(ModelCallError, match=r"over batch\.max_bytes"):
        await batcher.submit("big", _line("big", "x" * 2000))
    assert provider.ids == []
