"""The try view's API: the records to pick from, and a try over picked records through the
mock, with what each node did and the estimate; bad picks are one line."""

from __future__ import annotations

from tests.studio.conftest import Studio


def test_records_to_pick_from_are_the_sources_first(studio_server: Studio) -> None:
    """The first records of the task's source, with their ids and data."""
    with studio_server.client(timeout=60) as client:
        listed = client.get("/api/try/records", params={"path": "quickstart/task.yaml", "limit": 3})
    assert listed.status_code == 200
    body = listed.json()
    assert body["data_less"] is False
    assert [r["id"] for r in body["records"]] == ["topic-000", "topic-001", "topic-002"]
    assert body["records"][1]["data"]["topic"] == "black holes"


def test_a_try_shows_each_node_and_estimates_the_run(studio_server: Studio) -> None:
    """Two picked records run through every node with the mock: the state change, the
    prompt as sent, the reply, tokens; the estimate scales to the 12 records."""
    with studio_server.client(timeout=120) as client:
        tried = client.post(
            "/api/try", json={"path": "quickstart/task.yaml", "records": ["topic-001", "topic-003"]}
        )
    assert tried.status_code == 200, tried.text
    body = tried.json()
    assert body["mock"] is True
    assert [r["record_id"] for r in body["records"]] == ["topic-001", "topic-003"]
    record = body["records"][0]
    runs = {run["node"]: run for run in record["nodes"]}
    assert set(runs) == {"ask", "answer", "critique", "word_count"}
    [call] = runs["ask"]["calls"]
    assert call["messages"][-1]["content"] == (
        "Write a question about black holes for a intermediate learner."
    )
    assert call["response"] == call["messages"][-1]["content"]  # the mock echoes
    assert call["prompt_tokens"] > 0
    assert runs["word_count"]["calls"] == []
    assert runs["word_count"]["update"]["answer_words"] > 0
    assert body["estimate"]["records"] == 12
    assert body["estimate"]["total"]["calls"]["value"] == 36
    assert not (studio_server.workspace / "quickstart" / "output").exists()


def test_bad_picks_are_one_line(studio_server: Studio) -> None:
    """An id the source does not hold, too many records, a wrong type: 400, one line."""
    path = "quickstart/task.yaml"
    with studio_server.client(timeout=120) as client:
        answers = [
            client.post("/api/try", json={"path": path, "records": ["nope"]}),
            client.post("/api/try", json={"path": path, "records": [str(i) for i in range(21)]}),
            client.post("/api/try", json={"path": path, "sample": "two"}),
            client.post("/api/try", json={"path": path, "records": [1]}),
            client.post(
                "/api/try", content=b"not json", headers={"content-type": "application/json"}
            ),
        ]
    for answer in answers:
        assert answer.status_code == 400, answer.text
        error = answer.json()["error"]
        assert "\n" not in error
        assert "Traceback" not in error
    assert "no record with id 'nope'" in answers[0].json()["error"]
    assert str(studio_server.workspace) not in answers[0].json()["error"]


def test_a_data_less_task_is_tried_by_count(studio_server: Studio) -> None:
    """A task with no source: the records to pick are ids without data; a try of 2 runs
    records 0 and 1, and the estimate covers the task's num_records."""
    folder = studio_server.workspace / "facts"
    folder.mkdir()
    (folder / "task.yaml").write_text(
        "data_config:\n  num_records: 5\n"
        "graph_config:\n  nodes:\n    write:\n      node_type: llm\n      output_keys: fact\n"
        "      prompt: [{user: Write a fun fact.}]\n      model: {name: writer}\n"
        "  edges: [{from: START, to: write}, {from: write, to: END}]\n",
        encoding="utf-8",
    )
    with studio_server.client(timeout=120) as client:
        listed = client.get("/api/try/records", params={"path": "facts/task.yaml"}).json()
        tried = client.post("/api/try", json={"path": "facts/task.yaml", "sample": 2})
    assert listed["data_less"] is True
    assert [r["id"] for r in listed["records"]] == ["0", "1", "2", "3", "4"]
    assert tried.status_code == 200, tried.text
    body = tried.json()
    assert [r["record_id"] for r in body["records"]] == ["0", "1"]
    assert body["records"][0]["nodes"][0]["calls"][0]["response"] == "Write a fun fact."
    assert body["estimate"]["records"] == 5
    assert body["estimate"]["total"]["calls"]["value"] == 5
