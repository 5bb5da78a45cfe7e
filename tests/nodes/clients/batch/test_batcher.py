"""The batcher against a fake provider: a poll the server refuses stops the run with the
reason and leaves the batch open in the ledger for a resume; a transient poll failure is
polled again; a request over ``max_bytes`` fails alone."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from grasp_core.errors import ModelCallError, RetryableModelError, StopRunError
from tests.nodes.clients.batch.fakes import REPLY, FakeProvider, line_of, make_batcher

pytestmark = pytest.mark.anyio


async def test_a_refused_poll_stops_the_run_and_keeps_the_batch_open(tmp_path: Path) -> None:
    """A 401 while polling stops the run at once (no record fails: a failed record is never
    resumed, and its batch is paid), naming the batch and ``--resume``; the ledger has no
    end for the batch, so a resume polls it again."""
    provider = FakeProvider([ModelCallError("model 'm': GET batches/batch-1: bad key", status=401)])
    batcher = make_batcher(tmp_path, provider)
    with anyio.fail_after(10), pytest.raises(StopRunError) as caught:
        await batcher.submit("cid", line_of("cid"))
    assert "cannot collect batch batch-1" in str(caught.value)
    assert "bad key" in str(caught.value)
    assert "run again with --resume" in str(caught.value)
    assert batcher.ledger.model("m").open_batches() == ["batch-1"]


async def test_a_transient_poll_failure_is_polled_again(tmp_path: Path) -> None:
    """Two failed polls (after their retries) are followed by more polls, and the answer
    arrives."""
    errors: list[ModelCallError] = [RetryableModelError("down", status=503) for _ in range(2)]
    provider = FakeProvider(errors)
    batcher = make_batcher(tmp_path, provider)
    with anyio.fail_after(10):
        body = json.loads(await batcher.submit("cid", line_of("cid")))
    assert body == REPLY
    assert provider.polls == 3


async def test_a_request_over_max_bytes_fails_alone(tmp_path: Path) -> None:
    """A request larger than `max_bytes` fails at once, and alone; nothing is sent."""
    provider = FakeProvider([])
    batcher = make_batcher(tmp_path, provider, max_bytes=1024, max_wait=0)
    with anyio.fail_after(10), pytest.raises(ModelCallError, match=r"over batch\.max_bytes"):
        await batcher.submit("big", line_of("big", "x" * 2000))
    assert provider.ids == []
