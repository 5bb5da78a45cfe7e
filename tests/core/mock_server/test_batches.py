"""The mock's Files and Batch APIs over real HTTP: upload, create, poll, download, list and
cancel as OpenAI serves them, the batch plan's failures, and a log that shows each request
submitted."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from grasp_core.errors import ConfigError
from grasp_core.mock_server import BatchPlan, MockServer


def _line(custom_id: str, text: str) -> str:
    body = {"model": "m", "messages": [{"role": "user", "content": text}]}
    line = {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body}
    return json.dumps(line)


def _serve(plan: BatchPlan) -> Iterator[tuple[MockServer, httpx.Client]]:
    server = MockServer(batches=plan, max_seconds=120)
    with server.running() as url, httpx.Client(base_url=url + "/v1") as client:
        yield server, client


@pytest.fixture
def served(request: pytest.FixtureRequest) -> Iterator[tuple[MockServer, httpx.Client]]:
    yield from _serve(getattr(request, "param", BatchPlan()))


def _submit(client: httpx.Client, lines: list[str]) -> dict[str, object]:
    data = ("\n".join(lines) + "\n").encode()
    files = {"file": ("in.jsonl", data, "application/jsonl")}
    uploaded = client.post("/files", data={"purpose": "batch"}, files=files).json()
    body = {
        "input_file_id": uploaded["id"],
        "endpoint": "/v1/chat/completions",
        "completion_window": "24h",
    }
    created: dict[str, object] = client.post("/batches", json=body).json()
    return created


def test_a_batch_is_answered_into_an_output_file(served: tuple[MockServer, httpx.Client]) -> None:
    """A created batch completes at its first retrieval (no delay); its output file holds
    one chat completion per custom_id, and the log shows the batch's custom_ids once."""
    server, client = served
    created = _submit(client, [_line("a", "hello A"), _line("b", "hello B")])
    assert created["status"] == "validating"
    done = client.get(f"/batches/{created['id']}").json()
    assert done["status"] == "completed"
    assert done["request_counts"] == {"total": 2, "completed": 2, "failed": 0}
    output = client.get(f"/files/{done['output_file_id']}/content").text.splitlines()
    answers = {json.loads(x)["custom_id"]: json.loads(x)["response"] for x in output}
    assert answers["a"]["status_code"] == 200
    assert "hello A" in answers["a"]["body"]["choices"][0]["message"]["content"]
    log = [r for r in server.requests() if r["path"] == "/v1/batches"]
    assert [(r["key"], r["messages"]) for r in log] == [(created["id"], ["a", "b"])]


@pytest.mark.parametrize("served", [BatchPlan(delay=3600)], indirect=True)
def test_a_batch_stays_in_progress_for_its_delay_and_can_be_cancelled(
    served: tuple[MockServer, httpx.Client],
) -> None:
    """Before its delay a batch is in progress; a cancelled one ends cancelled."""
    _, client = served
    created = _submit(client, [_line("a", "x")])
    assert client.get(f"/batches/{created['id']}").json()["status"] == "in_progress"
    cancelled = client.post(f"/batches/{created['id']}/cancel").json()
    assert cancelled["status"] == "cancelled"


@pytest.mark.parametrize("served", [BatchPlan(fail=1, expire=1, failed_requests=1)], indirect=True)
def test_the_plan_fails_expires_and_fails_requests_in_order(
    served: tuple[MockServer, httpx.Client],
) -> None:
    """The first batch to end fails with a reason, the second expires, and in the third
    the first request fails into the error file."""
    _, client = served
    statuses = []
    for n in range(3):
        created = _submit(client, [_line(f"{n}a", "x"), _line(f"{n}b", "y")])
        statuses.append(client.get(f"/batches/{created['id']}").json())
    assert [s["status"] for s in statuses] == ["failed", "expired", "completed"]
    assert "mock batch failure" in statuses[0]["errors"]["data"][0]["message"]
    errors = client.get(f"/files/{statuses[2]['error_file_id']}/content").text.splitlines()
    assert [json.loads(x)["custom_id"] for x in errors] == ["2a"]
    assert json.loads(errors[0])["response"]["status_code"] == 500


def test_batches_are_listed_newest_first_with_their_input_file(
    served: tuple[MockServer, httpx.Client],
) -> None:
    """GET /v1/batches pages newest first; each batch names its input file."""
    _, client = served
    first, second = _submit(client, [_line("a", "x")]), _submit(client, [_line("b", "y")])
    page = client.get("/batches", params={"limit": 1}).json()
    assert [b["id"] for b in page["data"]] == [second["id"]]
    assert page["has_more"]
    rest = client.get("/batches", params={"after": page["last_id"]}).json()
    assert [(b["id"], b["input_file_id"]) for b in rest["data"]] == [
        (first["id"], first["input_file_id"])
    ]


def test_a_bad_batch_file_is_refused_with_the_line(served: tuple[MockServer, httpx.Client]) -> None:
    """A repeated custom_id is a 400 naming its line."""
    _, client = served
    data = (_line("a", "x") + "\n" + _line("a", "y") + "\n").encode()
    files = {"file": ("in.jsonl", data, "application/jsonl")}
    uploaded = client.post("/files", data={"purpose": "batch"}, files=files).json()
    body = {"input_file_id": uploaded["id"], "endpoint": "/v1/chat/completions"}
    refused = client.post("/batches", json=body)
    assert refused.status_code == 400
    assert "line 2" in refused.json()["error"]["message"]


def test_a_negative_plan_is_refused() -> None:
    """A batch plan's counts and delay cannot be negative."""
    with pytest.raises(ConfigError, match="fail must be >= 0"):
        BatchPlan(fail=-1)


def test_grasp_mock_server_takes_the_batch_plan_as_flags() -> None:
    """``--batch-delay`` keeps a batch in progress on a ``grasp mock-server``."""
    cmd = [sys.executable, "-m", "grasp_core", "mock-server", "--port", "0"]
    proc = subprocess.Popen(
        [*cmd, "--batch-delay", "600", "--max-seconds", "60"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split()[-1]
        with httpx.Client(base_url=url + "/v1") as client:
            created = _submit(client, [_line("a", "x")])
            assert client.get(f"/batches/{created['id']}").json()["status"] == "in_progress"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_negative_batch_flag_is_one_line() -> None:
    """``--batch-fail -1`` is refused with one line naming the value."""
    cmd = [sys.executable, "-m", "grasp_core", "mock-server", "--port", "0", "--batch-fail", "-1"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "grasp: error: batch plan: fail must be >= 0, got -1"
    ]


def test_unknown_batch_and_file_ids_are_404(served: tuple[MockServer, httpx.Client]) -> None:
    """As OpenAI answers them: an id the server does not know is 404 (not 400), so a client
    can tell a batch that is gone from a request it got wrong."""
    _, client = served
    assert client.get("/batches/batch_nope").status_code == 404
    assert client.post("/batches/batch_nope/cancel").status_code == 404
    assert client.get("/files/file-nope/content").status_code == 404
    assert "no such batch" in client.get("/batches/batch_nope").json()["error"]["message"]


@pytest.mark.parametrize("served", [BatchPlan(lost_creates=1)], indirect=True)
def test_a_lost_create_makes_the_batch_but_drops_the_answer(
    served: tuple[MockServer, httpx.Client],
) -> None:
    """The first create's connection is dropped after the batch is made: the list shows it;
    the next create is answered."""
    _, client = served
    with pytest.raises(httpx.HTTPError):
        _submit(client, [_line("a", "hi")])
    listed = client.get("/batches").json()["data"]
    assert [b["id"] for b in listed] == ["batch_mock1"]
    assert _submit(client, [_line("b", "hi")])["id"] == "batch_mock2"
