"""The run dialog's Ray option: a 2-shard Ray run started from the Studio's API (``grasp
run --executor ray`` in a child process, joining the shared test cluster through
``$RAY_ADDRESS``) against the mock, watched through the event stream to its end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.studio.conftest import Studio

ray = pytest.importorskip("ray")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

TASK = "quickstart/task.yaml"


def _events(client: Any, until: str) -> list[dict[str, Any]]:
    """The ``progress`` events of the run's stream, up to the first in state ``until``."""
    seen: list[dict[str, Any]] = []
    with client.stream("GET", "/api/runs/events", params={"path": TASK}) as stream:
        for line in stream.iter_lines():
            if line.startswith("data: "):
                seen.append(json.loads(line.removeprefix("data: ")))
                if seen[-1].get("state") in (until, "failed"):
                    return seen
    raise AssertionError(f"the stream ended before the run did: {seen[-1:]}")


def test_a_two_shard_ray_run_from_the_studio_is_watched_to_its_end(
    cluster: None, studio_server: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Started with ``executor: ray`` and two shards, the child runs on the cluster; the
    stream follows it until it finishes: every record once, two shards, exit 0."""
    monkeypatch.setenv("RAY_ADDRESS", ray.get_runtime_context().gcs_address)
    body = {"path": TASK, "executor": "ray", "num_shards": 2}
    with studio_server.client(timeout=60) as client:
        started = client.post("/api/runs/start", json=body)
        assert started.status_code == 202, started.text
        seen = _events(client, "finished")
    final = seen[-1]
    assert final["state"] == "finished", final["process"]["log"]
    assert final["process"]["command"] == [
        "grasp", "run", TASK, "--mock", "--executor", "ray", "--num-shards", "2",
    ]  # fmt: skip
    assert final["process"]["exit_code"] == 0
    topics = (studio_server.workspace / "quickstart" / "data" / "topics.jsonl").read_text()
    count = len(topics.splitlines())
    assert (final["summary"]["done"], final["summary"]["failed"]) == (count, 0)
    assert final["metrics"]["totals"]["model_calls"] == 3 * count
    output = studio_server.workspace / final["output"]
    ids = [json.loads(line)["id"] for line in output.read_text().splitlines()]
    assert sorted(ids) == sorted(json.loads(line)["id"] for line in topics.splitlines())
    shards = sorted(p.name for p in Path(output.parent).glob("*.shards/shard-*"))
    assert shards == ["shard-00000", "shard-00001"]
