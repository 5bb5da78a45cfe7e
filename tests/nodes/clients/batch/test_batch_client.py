"""A batched call keeps one ``custom_id`` through its retries: an attempt retried after a
transient failure asks for the same batch request (never paid twice); a reply asked again
for being empty is a new request, with an id of its own."""

from __future__ import annotations

import json

import pytest

from grasp_core.config.models_file import BatchOptions, ModelSpec
from grasp_core.errors import RetryableModelError
from grasp_core.models.backends import Backend
from grasp_core.observe.metrics import RunMetrics
from grasp_nodes.clients.batch.client import BatchClient
from grasp_nodes.clients.batch.waiters import Reservation

pytestmark = pytest.mark.anyio


def _reply(text: str) -> bytes:
    message = {"role": "assistant", "content": text}
    return json.dumps({"choices": [{"message": message, "finish_reason": "stop"}]}).encode()


class FakeBatcher:
    """Answers each submitted request with the next of ``outcomes``; keeps every id asked."""

    def __init__(self, outcomes: list[bytes | Exception]) -> None:
        self.outcomes = outcomes
        self.asked: list[str] = []

    async def submit(self, custom_id: str, line: bytes, reservation: Reservation) -> bytes:
        self.asked.append(custom_id)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def _client(batcher: FakeBatcher) -> BatchClient:
    spec = ModelSpec(model="openai/b", batch=BatchOptions(), max_retries=3, on_empty="retry")
    return BatchClient(
        "b",
        spec,
        api_key=None,
        backend=Backend("b", max_concurrency=1),
        metrics=RunMetrics(),
        batcher=batcher,  # type: ignore[arg-type]
    )


async def test_a_retried_attempt_keeps_its_custom_id() -> None:
    """A transient failure, then the answer: both attempts asked for one request."""
    batcher = FakeBatcher([RetryableModelError("download failed", status=500), _reply("ok")])
    result = await _client(batcher).chat([{"role": "user", "content": "hi"}], {})
    assert result.text == "ok"
    assert len(batcher.asked) == 2
    assert batcher.asked[0] == batcher.asked[1]


async def test_an_empty_reply_asked_again_is_a_new_request() -> None:
    """An empty reply retried by ``on_empty: retry`` asks with a new id (the old one holds
    the empty answer); the next call of the same messages starts from its own id."""
    batcher = FakeBatcher([_reply(""), _reply("ok"), _reply("again")])
    client = _client(batcher)
    result = await client.chat([{"role": "user", "content": "hi"}], {})
    assert result.text == "ok"
    assert len(set(batcher.asked)) == 2
    await client.chat([{"role": "user", "content": "hi"}], {})
    assert len(set(batcher.asked)) == 3
