"""The submitter creates a batch at most once: when a create's answer is lost, the batch
made of the file is looked up before another create is sent (with or without retries)."""

from __future__ import annotations

import pytest

from grasp_core.config.models_file import BatchOptions, ModelSpec
from grasp_core.mock_server import BatchPlan, MockServer
from grasp_nodes.clients.batch.requests import batch_line
from grasp_nodes.clients.batch.submitter import BatchSubmitter

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("max_retries", [0, 2])
async def test_a_create_whose_answer_is_lost_is_not_sent_again(max_retries: int) -> None:
    """The mock makes the first batch and drops the connection before answering; the
    submitter returns that batch, and the mock made exactly one."""
    server = MockServer(batches=BatchPlan(lost_creates=1), max_seconds=120)
    with server.running() as url:
        spec = ModelSpec(
            model="openai/b", api_base=url + "/v1", batch=BatchOptions(), max_retries=max_retries
        )
        submitter = BatchSubmitter("b", spec, None)
        body = {"model": "b", "messages": [{"role": "user", "content": "once"}]}
        try:
            file_id = await submitter.upload(batch_line("cid", "/v1/chat/completions", body))
            batch = await submitter.create(file_id, "24h")
        finally:
            await submitter.aclose()
        created = [r["key"] for r in server.requests() if r["path"] == "/v1/batches"]
    assert batch["id"] == "batch_mock1"
    assert batch["input_file_id"] == file_id
    assert created == ["batch_mock1"]
