"""A fake provider for the batcher's unit tests: scripted failures per call, and a count of
every batch it made (each one paid for)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio

from grasp_core.config.models_file import BatchOptions
from grasp_core.errors import ModelCallError
from grasp_core.observe.metrics import RunMetrics
from grasp_nodes.clients.batch.batcher import Batcher
from grasp_nodes.clients.batch.ledger import BatchLedger
from grasp_nodes.clients.batch.requests import batch_line
from grasp_nodes.clients.batch.stats import BatchStats

REPLY = {"choices": [{"message": {"content": "ok"}, "finish_reason": "stop"}]}


class FakeProvider:
    """Uploads and creates batches; polls fail with ``errors`` in turn, then complete (or
    stay ``in_progress`` while ``running``); downloads fail with ``download_errors``."""

    def __init__(
        self,
        errors: list[ModelCallError] | None = None,
        download_errors: list[ModelCallError] | None = None,
    ) -> None:
        self.errors = errors or []
        self.download_errors = download_errors or []
        self.polls = 0
        self.ids: list[str] = []
        self.files: dict[str, list[str]] = {}
        self.batches: dict[str, str] = {}
        """Each batch made, by id: its file."""
        self.running = False
        self.create_hangs = False
        self.create_error: ModelCallError | None = None
        self.entered_create = anyio.Event()
        self.download_gate: anyio.Event | None = None
        """Downloads wait for it when set."""
        self.downloading = anyio.Event()

    async def upload(self, data: bytes) -> str:
        self.ids = [json.loads(line)["custom_id"] for line in data.splitlines()]
        file_id = f"file-{len(self.files) + 1}"
        self.files[file_id] = self.ids
        return file_id

    async def create(self, file_id: str, window: str) -> dict[str, Any]:
        self.entered_create.set()
        if self.create_hangs:
            await anyio.sleep_forever()
        if self.create_error is not None:
            raise self.create_error
        batch_id = f"batch-{len(self.batches) + 1}"
        self.batches[batch_id] = file_id
        return {"id": batch_id, "status": "validating"}

    async def retrieve(self, batch_id: str) -> dict[str, Any]:
        self.polls += 1
        if self.errors:
            raise self.errors.pop(0)
        if self.running:
            return {"id": batch_id, "status": "in_progress"}
        return {"id": batch_id, "status": "completed", "output_file_id": f"out-{batch_id}"}

    async def content(self, file_id: str) -> bytes:
        self.downloading.set()
        if self.download_gate is not None:
            await self.download_gate.wait()
        if self.download_errors:
            raise self.download_errors.pop(0)
        ids = self.files[self.batches[file_id.removeprefix("out-")]]
        lines = [{"custom_id": i, "response": {"status_code": 200, "body": REPLY}} for i in ids]
        return "\n".join(map(json.dumps, lines)).encode()

    async def find(self, file_id: str) -> dict[str, Any] | None:
        for batch_id, made_of in self.batches.items():
            if made_of == file_id:
                return {"id": batch_id, "status": "in_progress"}
        return None

    async def aclose(self) -> None:
        pass


def make_batcher(tmp_path: Path, provider: FakeProvider, **options: Any) -> Batcher:
    settings = BatchOptions(**{"max_requests": 1, "poll_interval": 0.001, **options})
    ledger = BatchLedger(tmp_path / "ledger.jsonl")
    return Batcher("m", settings, provider, ledger, BatchStats(RunMetrics()))  # type: ignore[arg-type]


def line_of(custom_id: str, text: str = "hi") -> bytes:
    body = {"model": "m", "messages": [{"role": "user", "content": text}]}
    return batch_line(custom_id, "/v1/chat/completions", body)
