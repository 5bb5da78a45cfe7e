"""The compare view's API: two runs' metrics side by side and a per-record diff of their
outputs, matched by record id."""

from __future__ import annotations

from tests.studio.finished_runs import Runs, runs_fixture  # noqa: F401  (the `runs` fixture)


def test_two_runs_compare_metrics_and_records(runs: Runs) -> None:
    """r1 changed in both fields; the records only one run has are listed on their side."""
    with runs.client() as client:
        answer = client.get(
            "/api/compare", params={"left": runs.greet_output, "right": runs.variant_output}
        )
    assert answer.status_code == 200
    body = answer.json()
    assert (body["metrics"]["left"]["done"], body["metrics"]["right"]["done"]) == (4, 8)
    assert (body["metrics"]["left"]["failed"], body["metrics"]["right"]["failed"]) == (3, 0)
    assert body["counts"] == {"changed": 4, "same": 0, "only_left": 0, "only_right": 4}
    assert body["total"] == 8
    first = body["diffs"][0]
    assert first["id"] == "r1"
    assert first["status"] == "changed"
    assert first["fields"]["text"] == {"left": "hello 1", "right": "hello 1!"}
    only = [d["id"] for d in body["diffs"] if d["status"] == "only_right"]
    assert only == ["r0", "r3", "r6", "r7"]


def test_a_status_filter_pages_the_diffs(runs: Runs) -> None:
    """`status=only_right` with a limit pages over just those."""
    with runs.client() as client:
        body = client.get(
            "/api/compare",
            params={
                "left": runs.greet_output,
                "right": runs.variant_output,
                "status": "only_right",
                "offset": 1,
                "limit": 2,
            },
        ).json()
    assert body["total"] == 4
    assert [d["id"] for d in body["diffs"]] == ["r3", "r6"]
    assert body["diffs"][0]["fields"]["loud"] == {"left": None, "right": "HELLO 3!"}


def test_a_bad_comparison_says_what_to_give(runs: Runs) -> None:
    """An unknown status or a missing side is one line."""
    with runs.client() as client:
        bad = client.get(
            "/api/compare",
            params={"left": runs.greet_output, "right": runs.variant_output, "status": "new"},
        )
        missing = client.get("/api/compare", params={"left": runs.greet_output})
    assert bad.status_code == 400
    assert "status 'new'" in bad.json()["error"]
    assert missing.json() == {"error": "name the run's output: ?right=<path of its output file>"}
