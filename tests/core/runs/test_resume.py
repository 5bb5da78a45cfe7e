"""Resume: finished records are skipped, partial ones restart after their last finished node,
sinks return to their last commit, and no finished LLM call is made again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from grasp_core import RunOptions, run_task
from grasp_core.errors import ResumeError
from grasp_core.mock_server import Latency, MockServer
from tests.conftest import REPO_ROOT, write_task

TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/result.jsonl}
graph_config:
  nodes:
    draft:
      node_type: llm
      output_keys: draft
      prompt:
        - user: "draft {id}: {text}"
      model: {name: m}
    polish:
      node_type: llm
      output_keys: final
      prompt:
        - user: "polish {id}: {draft}"
      model: {name: m}
  edges:
    - {from: START, to: draft}
    - {from: draft, to: polish}
    - {from: polish, to: END}
output_config:
  output_map:
    id: {from: id}
    final: {from: final}
"""


def make_task(folder: Path, n: int) -> Path:
    rows = "".join(json.dumps({"id": f"r{i:04d}", "text": f"text {i}"}) + "\n" for i in range(n))
    models = "m:\n  model: openai/m\n  api_base: http://127.0.0.1:1/v1\n  max_concurrency: 4\n"
    return write_task(folder, TASK, {"data.jsonl": rows, "models.yaml": models})


def output_ids(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


def user_prompts(server: MockServer) -> Counter[str]:
    return Counter(r["messages"][-1]["content"] for r in server.requests())


def test_resume_skips_records_already_done(tmp_path: Path, mock_server: MockServer) -> None:
    """A second run with --resume processes only the records the first did not finish."""
    task = make_task(tmp_path, 10)
    first = run_task(task, RunOptions(mock=mock_server.url, num_records=4))
    assert first.done == 4
    mock_server.reset()
    second = run_task(task, RunOptions(mock=mock_server.url, resume=True))
    assert (second.done, second.previously_done) == (6, 4)
    assert len(mock_server.requests()) == 12
    ids = output_ids(tmp_path / "out/result.jsonl")
    assert sorted(ids) == [f"r{i:04d}" for i in range(10)]


def test_existing_run_is_not_overwritten_without_a_flag(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """Starting again over an earlier run's journal is refused unless overwrite=True; from
    Python the error names the RunOptions fields, not the CLI's flags."""
    task = make_task(tmp_path, 2)
    run_task(task, RunOptions(mock=mock_server.url))
    with pytest.raises(ResumeError) as refused:
        run_task(task, RunOptions(mock=mock_server.url))
    assert "Pass RunOptions(resume=True) to continue it, or RunOptions(overwrite=True)" in str(
        refused.value
    )
    assert "--resume" not in str(refused.value)
    assert "--overwrite" not in str(refused.value)
    again = run_task(task, RunOptions(mock=mock_server.url, overwrite=True))
    assert again.done == 2
    assert len(output_ids(tmp_path / "out/result.jsonl")) == 2


def test_resume_against_a_changed_task_is_refused(tmp_path: Path, mock_server: MockServer) -> None:
    """The journal's task hash must match unless the resume is forced."""
    task = make_task(tmp_path, 3)
    run_task(task, RunOptions(mock=mock_server.url, num_records=1))
    task.write_text(task.read_text().replace("draft {id}", "DRAFT {id}"))
    with pytest.raises(ResumeError, match="task changed"):
        run_task(task, RunOptions(mock=mock_server.url, resume=True))
    forced = run_task(task, RunOptions(mock=mock_server.url, resume=True, force=True))
    assert forced.done == 2
    # the forced run adopted the edited task: a later resume needs no --force
    assert run_task(task, RunOptions(mock=mock_server.url, resume=True)).previously_done == 3
    headers = [
        json.loads(line)
        for line in (tmp_path / "out/result.journal.jsonl").read_text().splitlines()
        if '"e":"run"' in line
    ]
    assert [h["resumed"] for h in headers] == [False, True]  # a run with nothing to do writes none


def test_partial_records_restart_after_their_last_journaled_node(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """Journaled node runs are replayed, not called again; the uncommitted sink tail is cut."""
    task = make_task(tmp_path, 6)
    run_task(task, RunOptions(mock=mock_server.url, cache=False))  # the log shows every call
    journal = tmp_path / "out/result.journal.jsonl"
    events = [json.loads(line) for line in journal.read_text().splitlines()]
    kept = [
        e
        for e in events
        if e["e"] in ("run", "node_done")
        and not (e["e"] == "node_done" and e["n"] == "polish" and e["r"] in ("r0000", "r0001"))
    ]
    journal.write_text("".join(json.dumps(e) + "\n" for e in kept) + '{"e":"node_do')
    output = tmp_path / "out/result.jsonl"
    output.write_text(output.read_text() + '{"id": "ghost", "final": "uncommitted"}\n')
    mock_server.reset()
    result = run_task(task, RunOptions(mock=mock_server.url, resume=True, cache=False))
    assert result.done == 6
    assert sorted(user_prompts(mock_server)) == [
        "polish r0000: draft r0000: text 0",
        "polish r0001: draft r0001: text 1",
    ]
    assert sorted(output_ids(output)) == [f"r{i:04d}" for i in range(6)]


@pytest.mark.slow
def test_sigkill_mid_run_then_resume_loses_and_repeats_nothing(tmp_path: Path) -> None:
    """Killed with SIGKILL mid-run and resumed: every record once, no journaled call repeated."""
    n = 120
    task = make_task(tmp_path, n)
    server = MockServer(latency=Latency.fixed(0.04), max_seconds=300)
    output = tmp_path / "out/result.jsonl"
    journal = tmp_path / "out/result.journal.jsonl"
    with server.running() as url:
        cmd = [sys.executable, "-m", "grasp_core", "run", str(task), "--mock-url", url, "--quiet"]
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if output.exists() and len(output.read_text().splitlines()) >= 20:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        finished_calls = {
            f"{e['n']} {e['r']}"
            for e in map(json.loads, journal.read_text().splitlines()[:-1])
            if e["e"] == "node_done"
        }
        assert 0 < len(output_ids(output)) < n
        resumed = subprocess.run([*cmd, "--resume"], env=env, capture_output=True, timeout=120)
        assert resumed.returncode == 0, resumed.stderr.decode()
        prompts = user_prompts(server)
    ids = output_ids(output)
    assert len(ids) == n
    assert len(set(ids)) == n
    for call in finished_calls:
        node_name, record = call.split()
        sent = [p for p in prompts if p.startswith(f"{node_name} {record}:")]
        assert sent, call
        assert all(prompts[p] == 1 for p in sent), call


@pytest.mark.slow
def test_sigterm_stops_cleanly_and_says_how_to_resume(tmp_path: Path) -> None:
    """SIGTERM stops admitting records, commits what finished, and prints the resume command."""
    task = make_task(tmp_path, 200)
    server = MockServer(latency=Latency.fixed(0.05), max_seconds=300)
    output = tmp_path / "out/result.jsonl"
    with server.running() as url:
        cmd = [sys.executable, "-m", "grasp_core", "run", str(task), "--mock-url", url]
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if output.exists() and len(output.read_text().splitlines()) >= 10:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
        assert proc.returncode == 130
        assert b"--resume" in stderr
        resumed = subprocess.run([*cmd, "--resume"], env=env, capture_output=True, timeout=120)
        assert resumed.returncode == 0, resumed.stderr.decode()
    ids = output_ids(output)
    assert sorted(ids) == [f"r{i:04d}" for i in range(200)]
