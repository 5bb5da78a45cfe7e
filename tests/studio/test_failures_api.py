"""The failures view's API: failures grouped by node and reason with their inputs, and a
retry of only the failed records."""

from __future__ import annotations

import json

from tests.studio.finished_runs import Runs, runs_fixture  # noqa: F401  (the `runs` fixture)


def test_failures_are_grouped_with_their_inputs(runs: Runs) -> None:
    """Three records failing alike: one group, its reason masked, each input kept."""
    with runs.client() as client:
        body = client.get("/api/failures", params={"output": runs.greet_output}).json()
    assert body["total"] == 3
    (group,) = body["groups"]
    assert (group["node"], group["count"]) == ("greet", 3)
    assert group["reason"] == "ValueError: no multiples of three: #"
    assert [(r["id"], r["input"]["n"]) for r in group["records"]] == [
        ("r0", 0),
        ("r3", 3),
        ("r6", 6),
    ]


def test_a_run_without_failures_has_no_group(runs: Runs) -> None:
    with runs.client() as client:
        body = client.get("/api/failures", params={"output": runs.variant_output}).json()
    assert body == {"total": 0, "groups": []}


def test_retry_runs_only_the_failed_records_beside_the_run(runs: Runs) -> None:
    """Once the cause is fixed, the retry makes the three records and nothing else; the
    first run's output is untouched."""
    first = runs.studio.workspace / runs.greet_output
    before = first.read_bytes()
    (runs.studio.workspace / "greet" / "broken").unlink()
    try:
        with runs.client() as client:
            answer = client.post("/api/failures/retry", json={"task": runs.greet_task})
    finally:
        (runs.studio.workspace / "greet" / "broken").write_text("")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["done"], body["failed"]) == (3, 0)
    assert body["output"] == "greet/output/greet.retry/output/greet.jsonl"
    retried = (runs.studio.workspace / body["output"]).read_text().splitlines()
    assert [json.loads(line)["loud"] for line in retried] == ["HELLO 0", "HELLO 3", "HELLO 6"]
    assert first.read_bytes() == before


def test_retry_needs_a_task_in_the_workspace(runs: Runs) -> None:
    """No task, or one outside the workspace: one line, no run."""
    with runs.client() as client:
        missing = client.post("/api/failures/retry", json={})
        outside = client.post("/api/failures/retry", json={"task": "../task.yaml"})
        not_json = client.post(
            "/api/failures/retry", content=b"{", headers={"content-type": "application/json"}
        )
    assert missing.status_code == 400
    assert outside.status_code == 404
    assert not_json.json() == {"error": "the request body is not JSON"}
