"""The failures view's API: failures grouped by node and reason with their inputs (the retry
of the failed records is a watched run: ``test_retry_api.py``)."""

from __future__ import annotations

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
