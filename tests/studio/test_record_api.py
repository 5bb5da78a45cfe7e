"""The record view's API: one record with its node-by-node trace from the journal, its
failure, and the media it points to."""

from __future__ import annotations

from tests.studio.finished_runs import Runs, runs_fixture  # noqa: F401  (the `runs` fixture)


def test_a_record_comes_with_each_node_and_its_state_change(runs: Runs) -> None:
    """By row: the record, then its trace as the journal holds it."""
    with runs.client() as client:
        answer = client.get("/api/record", params={"output": runs.greet_output, "row": 0})
    assert answer.status_code == 200
    body = answer.json()
    assert body["id"] == "r1"
    assert body["record"] == {"id": "r1", "n": 1, "text": "hello 1", "loud": "HELLO 1"}
    trace = body["trace"]
    assert trace["status"] == "done"
    assert [(s["node"], s["delta"]) for s in trace["steps"]] == [
        ("greet", {"text": "hello 1"}),
        ("shout", {"loud": "HELLO 1"}),
    ]


def test_a_failed_record_is_found_by_id_with_its_failure(runs: Runs) -> None:
    """Not in the output, so no record; the failure names the node, the reason, the input."""
    with runs.client() as client:
        answer = client.get("/api/record", params={"output": runs.greet_output, "id": "r3"})
    body = answer.json()
    assert answer.status_code == 200
    assert body["record"] is None
    assert body["trace"]["status"] == "failed"
    failure = body["trace"]["failure"]
    assert failure["node"] == "greet"
    assert "no multiples of three: 3" in failure["reason"]
    assert failure["input"] == {"id": "r3", "n": 3}


def test_a_record_lists_the_images_it_points_to(runs: Runs) -> None:
    """A media node's `{path, type}` values are listed with their field, to show inline."""
    with runs.client() as client:
        body = client.get("/api/record", params={"output": runs.image_output, "row": 0}).json()
    fields = sorted(item["field"] for item in body["media"])
    assert fields == ["animal_image", "merged.0", "merged.1", "place_image"]
    assert {item["kind"] for item in body["media"]} == {"image"}
    assert body["media"][0]["path"].startswith("image_edit.media/")
    assert [s["node"] for s in body["trace"]["steps"]].count("merge") == 1


def test_an_unknown_record_is_a_404(runs: Runs) -> None:
    """Past the end, or an id neither the output nor the journal knows."""
    with runs.client() as client:
        past = client.get("/api/record", params={"output": runs.greet_output, "row": 99})
        unknown = client.get("/api/record", params={"output": runs.greet_output, "id": "zz"})
    assert (past.status_code, unknown.status_code) == (404, 404)
    assert past.json() == {"error": "the output has no row 99"}
    assert "no record 'zz'" in unknown.json()["error"]


def test_media_are_found_in_every_shape_a_record_holds_them() -> None:
    """Media node records, file names beside the output, data URLs, Image columns; never a
    path leading out or a remote URL."""
    from grasp_studio.api.records import media_in

    record = {
        "speech": {"path": "out.media/speak/a.wav", "type": "audio/wav", "size": 10},
        "picture": "pics/cat.png",
        "inline": "data:image/png;base64,iVBORw0KGgo=",
        "column": {"bytes": "data:image/jpeg;base64,/9j/", "path": None},
        "outside": "../secret.png",
        "absolute": "/etc/x.png",
        "remote": "https://example.com/a.png",
        "text": "just words.png are here",
    }
    found = {item["field"]: item for item in media_in(record)}
    assert found["speech"] == {"field": "speech", "kind": "audio", "path": "out.media/speak/a.wav"}
    assert found["picture"]["kind"] == "image"
    assert found["inline"]["src"].startswith("data:image/png")
    assert found["column"]["src"].startswith("data:image/jpeg")
    assert set(found) == {"speech", "picture", "inline", "column"}
