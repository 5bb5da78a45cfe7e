"""Exactly-once across a crash in the gaps between the steps of a submission: a file the
ledger says was uploaded, with no batch recorded, gets the batch the provider already made
of it when there is one, else one made from that same file; never a second upload."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grasp_core.config.models_file import BatchOptions, ModelSpec
from grasp_core.mock_server import MockServer
from grasp_core.observe.metrics import RunMetrics
from grasp_nodes.clients.batch.batcher import Batcher
from grasp_nodes.clients.batch.ledger import BatchLedger
from grasp_nodes.clients.batch.requests import batch_line
from grasp_nodes.clients.batch.stats import BatchStats
from grasp_nodes.clients.batch.submitter import BatchSubmitter

pytestmark = pytest.mark.anyio

_OPTIONS = BatchOptions(max_requests=1, poll_interval=0.01)


def _parts(server: MockServer, tmp_path: Path) -> tuple[BatchSubmitter, BatchLedger, bytes]:
    spec = ModelSpec(model="openai/b", api_base=server.url + "/v1", batch=_OPTIONS)
    body = {"model": "b", "messages": [{"role": "user", "content": "recover me"}]}
    line = batch_line("cid-1", "/v1/chat/completions", body)
    return BatchSubmitter("b", spec, None), BatchLedger(tmp_path / "ledger.jsonl"), line


def _created(server: MockServer) -> list[str]:
    return [str(r["key"]) for r in server.requests() if r["path"] == "/v1/batches"]


@pytest.mark.parametrize("batch_was_created", [True, False])
async def test_an_uploaded_file_without_a_recorded_batch_is_not_submitted_again(
    tmp_path: Path, mock_server: MockServer, batch_was_created: bool
) -> None:
    """After a crash between the upload and the ledger's ``created`` line, the next run
    adopts the provider's batch of that file (or makes the one batch of it) and answers
    the request from it: one batch and one upload in all."""
    mock_server.reset()
    submitter, ledger, line = _parts(mock_server, tmp_path)
    file_id = await submitter.upload(line)
    await ledger.write("b", {"event": "uploaded", "file": file_id, "ids": ["cid-1"]})
    if batch_was_created:
        await submitter.create(file_id, "24h")  # the crash came before its ledger line
    already = _created(mock_server)

    resumed = BatchLedger(ledger.path)
    batcher = Batcher("b", _OPTIONS, submitter, resumed, BatchStats(RunMetrics()))
    answer = json.loads(await batcher.submit("cid-1", line))
    await submitter.aclose()

    assert "recover me" in answer["choices"][0]["message"]["content"]
    created = _created(mock_server)
    assert len(created) == 1
    assert created[: len(already)] == already
    events = [json.loads(x) for x in ledger.path.read_text().splitlines()]
    assert [e["event"] for e in events] == ["uploaded", "created", "ended"]
    assert events[1]["file"] == file_id


async def test_the_ledger_counts_each_event_once_and_reads_back_the_same(tmp_path: Path) -> None:
    """Written events are applied once, a torn last line is skipped, and a new reader sees
    what the writer saw."""
    ledger = BatchLedger(tmp_path / "ledger.jsonl")
    await ledger.write("m", {"event": "uploaded", "file": "f1", "ids": ["a", "b"]})
    await ledger.write("m", {"event": "created", "file": "f1", "batch": "b1"})
    await ledger.write("m", {"event": "uploaded", "file": "f2", "ids": ["a"]})
    ledger.close()
    with ledger.path.open("a") as torn:
        torn.write('{"event": "created", "file": "f2", "ba')
    for book in (ledger.model("m"), BatchLedger(ledger.path).model("m")):
        assert book.submissions == {"a": 2, "b": 1}
        assert book.batch_of("b") == "b1"
        assert book.batch_of("a") is None
        assert book.unbatched_files() == ["f2"]
        assert book.open_batches() == ["b1"]


async def test_a_resumed_run_reserves_the_open_batches_again_until_they_end(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """A batch an earlier run left open counts against the resumed run's budget with the
    reservation its ``created`` line recorded, and releases it when it ends."""
    mock_server.reset()
    submitter, ledger, line = _parts(mock_server, tmp_path)
    file_id = await submitter.upload(line)
    batch = await submitter.create(file_id, "24h")
    await ledger.write("b", {"event": "uploaded", "file": file_id, "ids": ["cid-1"]})
    created = {"event": "created", "file": file_id, "batch": batch["id"], "reserved": [0.5, 40]}
    await ledger.write("b", created)

    metrics = RunMetrics()
    seen: list[tuple[float, int]] = []
    metrics.listeners.append(lambda m: seen.append((m.reserved.cost_usd, m.reserved.tokens)))
    batcher = Batcher("b", _OPTIONS, submitter, BatchLedger(ledger.path), BatchStats(metrics))
    await batcher.submit("cid-1", line)
    await submitter.aclose()

    assert seen[0] == (0.5, 40)
    assert metrics.reserved.batches == {}
    assert (metrics.reserved.cost_usd, metrics.reserved.tokens) == (0.0, 0)
