"""``grasp preview`` calls batched models live by default (a preview is for looking at a
few records now), priced at their batch prices; ``--batch`` sends them through the batch
API as a run does, with its ledger kept out of the run's folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grasp_core.cli.app import main
from grasp_core.cli.options import EXIT_OK
from grasp_core.config.models_file import ModelSpec
from grasp_core.mock_server import MockServer
from grasp_core.models.pricing import price_of
from tests.nodes.clients.batch.conftest import batch_lines, batch_task, live_calls, submitted

BATCHED = "{max_requests: 2, max_wait: 0.1, poll_interval: 0.05}"


def _task(folder: Path, url: str) -> Path:
    """The two-node task, its batched entry a model litellm lists batch prices for."""
    task = batch_task(folder, url, records=4, batch=BATCHED)
    (folder / "models.yaml").write_text(
        f"batched: {{model: openai/gpt-4o-mini, api_base: '{url}/v1', batch: {BATCHED}}}\n"
        f"live: {{model: openai/live, api_base: '{url}/v1'}}\n"
    )
    return task


def _preview(task: Path, capsys: pytest.CaptureFixture[str], *flags: str) -> dict[str, object]:
    assert main(["preview", str(task), "-n", "2", "--json", "--no-cache", *flags]) == EXIT_OK
    data: dict[str, object] = json.loads(capsys.readouterr().out)
    return data


def test_preview_calls_a_batched_model_live_at_its_batch_price(
    tmp_path: Path, server: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """No file is uploaded and no batch created: both sampled records' batched requests
    go live, and their cost is that of litellm's batch prices."""
    data = _preview(_task(tmp_path, server.url), capsys)
    assert submitted(server) == []
    assert not [r for r in server.requests() if str(r["path"]).startswith("/v1/files")]
    assert sorted(str(r["model"]) for r in live_calls(server)) == ["gpt-4o-mini"] * 2 + ["live"] * 2
    price = price_of(ModelSpec.model_validate({"model": "openai/gpt-4o-mini", "batch": True}))
    assert price is not None
    records = data["records"]
    assert isinstance(records, list)
    call = records[0]["nodes"][0]["calls"][0]
    expected = price.cost(call["prompt_tokens"], call["completion_tokens"])
    assert call["cost_usd"] == pytest.approx(expected)
    assert not (tmp_path / "out.batches").exists()


def test_preview_with_batch_goes_through_the_batch_api_outside_the_runs_folder(
    tmp_path: Path, server: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--batch``: the batched requests are answered inside a batch; the ledger lives in
    the preview's temporary folder, not beside the run's output."""
    data = _preview(_task(tmp_path, server.url), capsys, "--batch")
    assert len(submitted(server)) == 2
    assert len(batch_lines(server)) == 2
    assert [str(r["model"]) for r in live_calls(server)] == ["live", "live"]
    records = data["records"]
    assert isinstance(records, list)
    assert len(records) == 2
    assert not (tmp_path / "out.batches").exists()
