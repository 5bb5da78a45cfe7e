"""Two-node chains against llama.cpp's server over every kind of route, and token counts that
match the server's own ``usage``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grasp_core import RunOptions, run_task
from tests.realserver.conftest import RECORDS, ROUTES, chain_task, reply_text
from tests.realserver.recording_proxy import RecordingProxy

pytestmark = [pytest.mark.realserver, pytest.mark.timeout(900)]


@pytest.mark.parametrize("name", list(ROUTES))
def test_a_chain_writes_every_record_with_the_servers_replies(
    tmp_path: Path, proxy: RecordingProxy, name: str
) -> None:
    """Every record is written, and each node's output is the text the server answered."""
    result = run_task(chain_task(tmp_path, proxy, name), RunOptions())
    exchanges = proxy.exchanges()
    assert (result.done, result.failed) == (RECORDS, 0), result.summary_path.read_text()
    assert [e.status for e in exchanges] == [200] * (2 * RECORDS)
    assert {e.path for e in exchanges} == {"/v1/chat/completions"}
    replies = {e.user_text.split(":")[0]: reply_text(e) for e in exchanges}
    records = sorted(result.records(), key=lambda r: str(r["id"]))
    assert [r["id"] for r in records] == [f"r{i}" for i in range(RECORDS)]
    for record in records:
        assert record["draft"] == replies[f"ask {record['id']}"]
        assert record["final"] == replies[f"answer {record['id']}"]
        assert record["final"]


def test_token_counts_equal_the_servers_usage(tmp_path: Path, proxy: RecordingProxy) -> None:
    """The run's metrics (in memory and in metrics.json) count exactly the tokens the server
    reported in its replies' ``usage``, per model and in total."""
    result = run_task(chain_task(tmp_path, proxy, "openai"), RunOptions())
    usages = [e.response["usage"] for e in proxy.exchanges() if e.status == 200]
    assert len(usages) == 2 * RECORDS
    prompt = sum(u["prompt_tokens"] for u in usages)
    completion = sum(u["completion_tokens"] for u in usages)
    assert prompt > 0
    assert completion > 0
    assert result.metrics_path is not None
    for metrics in (result.metrics, json.loads(result.metrics_path.read_text())):
        assert metrics["totals"]["prompt_tokens"] == prompt
        assert metrics["totals"]["completion_tokens"] == completion
        assert metrics["models"]["openai"]["prompt_tokens"] == prompt
        assert metrics["models"]["openai"]["completion_tokens"] == completion
