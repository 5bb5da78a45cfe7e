"""The review API: accept, reject, edit and rate records into an annotations file beside
the output, which `grasp filter` then reads."""

from __future__ import annotations

import json

import pytest

from grasp_core.cli import main
from tests.studio.finished_runs import Runs, runs_fixture  # noqa: F401  (the `runs` fixture)


def test_a_review_merges_into_the_records_annotation(runs: Runs) -> None:
    """Fields given replace the current ones; the others stay; null clears one."""
    with runs.client() as client:
        first = client.post(
            "/api/annotations",
            json={"output": runs.variant_output, "id": "r2", "verdict": "accept", "rating": 4},
        )
        second = client.post(
            "/api/annotations",
            json={"output": runs.variant_output, "id": "r2", "note": "fine", "rating": None},
        )
        listed = client.get("/api/annotations", params={"output": runs.variant_output}).json()
        page = client.get(
            "/api/output/page", params={"output": runs.variant_output, "offset": 2, "limit": 1}
        ).json()
    assert first.status_code == 200
    assert second.json()["verdict"] == "accept"
    assert listed["r2"] == {"verdict": "accept", "rating": None, "edit": None, "note": "fine"}
    assert page["rows"][0]["annotation"]["note"] == "fine"
    with runs.client() as client:
        reviewed = client.get(
            "/api/output/page",
            params={"output": runs.variant_output, "where": 'annotation.verdict == "accept"'},
        ).json()
    assert [row["record"]["id"] for row in reviewed["rows"]] == ["r2"]
    lines = (runs.studio.workspace / "greet/variant/output/greet.annotations.jsonl").read_text()
    assert len(lines.splitlines()) == 2


def test_a_bad_review_is_refused_with_what_to_give(runs: Runs) -> None:
    """A verdict that is not accept/reject, a missing id: one line, nothing written."""
    with runs.client() as client:
        verdict = client.post(
            "/api/annotations", json={"output": runs.greet_output, "id": "r1", "verdict": "meh"}
        )
        no_id = client.post("/api/annotations", json={"output": runs.greet_output})
        outside = client.post("/api/annotations", json={"output": "../x.jsonl", "id": "r1"})
    assert verdict.status_code == 400
    assert "use one of accept, reject" in verdict.json()["error"]
    assert no_id.status_code == 400
    assert outside.status_code == 404
    assert not (runs.studio.workspace / "greet/output/greet.annotations.jsonl").exists()


def test_grasp_filter_keeps_the_accepted_records_with_their_edits(
    runs: Runs, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reviewed in the Studio, exported by `grasp filter --where annotation.verdict`."""
    output = runs.studio.workspace / runs.image_output
    with runs.client() as client:
        for record_id, verdict in (("1", "accept"), ("2", "reject")):
            answer = client.post(
                "/api/annotations",
                json={"output": runs.image_output, "id": record_id, "verdict": verdict},
            )
            assert answer.status_code == 200
        client.post(
            "/api/annotations",
            json={"output": runs.image_output, "id": "1", "edit": {"caption": "a cat"}},
        )
    monkeypatch.chdir(output.parent)
    code = main(
        ["filter", output.name, "-o", "accepted.jsonl", "--where", 'annotation.verdict == "accept"']
    )
    assert code == 0
    kept = [
        json.loads(line) for line in (output.parent / "accepted.jsonl").read_text().splitlines()
    ]
    assert [(r["id"], r["caption"]) for r in kept] == [("1", "a cat")]
    assert "annotation" not in kept[0]
