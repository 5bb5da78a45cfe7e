"""Joined records in runs: output ids, no shared nested data, a secondary's own transforms,
bad secondaries, prompts reading the joined record, and random pairs kept across a resume.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from grasp_core import RunOptions, run_task
from grasp_core.errors import SourceError
from grasp_core.mock_server import Latency, MockServer
from tests.conftest import REPO_ROOT, write_task
from tests.core.sourcing.join_tasks import PERSONA_JOIN, items, pairs, task_with

MUTATING_GRAPH = """
graph_config:
  nodes:
    step: {node_type: lambda, lambda: steps.step, output_keys: seen}
  edges:
    - {from: START, to: step}
    - {from: step, to: END}
"""


def run_lambda_task(
    folder: Path, sources_yaml: str, files: dict[str, str], step: str
) -> list[dict[str, Any]]:
    """Run ``sources_yaml`` through the lambda ``step`` (one record at a time, so a leak
    from one record into the next shows); the records written, none failed."""
    body = textwrap.indent(textwrap.dedent(sources_yaml).strip(), "    ")
    text = f"data_config:\n  source:\n{body}\n  sink: {{type: jsonl, file_path: out.jsonl}}\n"
    task = write_task(folder, text + MUTATING_GRAPH, {**files, "steps.py": step})
    result = run_task(task, RunOptions(window=1))
    assert result.failed == 0
    return [json.loads(line) for line in (folder / "out.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("kind", ["vstack", "cross"])
def test_derived_ids_are_the_output_ids(tmp_path: Path, kind: str) -> None:
    """A vstack or cross record's output id is its derived record id, so two sources with
    the same ids (or a record without one) never give two output rows one id."""
    files = {
        "a.jsonl": json.dumps({"id": "17", "q": "from a"}) + "\n",
        "b.jsonl": json.dumps({"id": "17", "q": "from b"}) + "\n" + '{"q": "no id"}\n',
    }
    first = "vstack" if kind == "vstack" else "primary"
    sources = f"""
    - {{type: disk, file_path: a.jsonl, alias: a, join_type: {first}}}
    - {{type: disk, file_path: b.jsonl, alias: b, join_type: {kind}}}
    """
    step = "def step(state):\n    return state['id']\n"
    records = run_lambda_task(tmp_path, sources, files, step)
    expected = ["a:17", "b:17", "b:1"] if kind == "vstack" else ["17|b:17", "17|b:1"]
    assert sorted(r["id"] for r in records) == sorted(expected)
    assert all(r["seen"] == r["id"] for r in records)  # the graph saw the same id
    if kind == "cross":
        assert sorted(r["b"].get("id", "-") for r in records) == ["-", "17"]


@pytest.mark.parametrize("kind", ["random", "sequential", "cross", "column"])
def test_joined_records_never_share_nested_data(tmp_path: Path, kind: str) -> None:
    """A step that changes a joined record's nested data (the secondary's, or in a cross
    join the primary's) leaves every other record's data as it came from the files."""
    files = {
        "q.jsonl": "".join(
            json.dumps({"id": f"q{i}", "k": 1, "hist": []}) + "\n" for i in range(3)
        ),
        "p.jsonl": "".join(json.dumps({"id": f"p{k}", "k": k, "tags": []}) + "\n" for k in (1, 2)),
    }
    keys = ", primary_key: k, join_key: k" if kind == "column" else ""
    sources = f"""
    - {{type: disk, file_path: q.jsonl, alias: q, join_type: primary}}
    - {{type: disk, file_path: p.jsonl, alias: persona, join_type: {kind}{keys}}}
    """
    step = (
        "def step(state):\n"
        "    state['persona']['tags'].append(state['id'])\n"
        "    state['hist'].append(1)\n"
        "    return [len(state['persona']['tags']), len(state['hist'])]\n"
    )
    records = run_lambda_task(tmp_path, sources, files, step)
    assert len(records) == (6 if kind == "cross" else 3)
    assert all(r["seen"] == [1, 1] for r in records)
    assert all(r["persona"]["tags"] == [r["id"]] and r["hist"] == [1] for r in records)


def test_secondary_sources_have_their_own_transforms(tmp_path: Path) -> None:
    """Transforms on a secondary shape what is joined (here: only one persona is left)."""
    task = task_with(
        tmp_path,
        """
        - {type: disk, file_path: questions.jsonl, alias: q, join_type: primary}
        - type: disk
          file_path: personas.jsonl
          alias: persona
          join_type: random
          transformations:
            - {transform: skip_records, params: {count: {from_start: 2}}}
            - {transform: rename_fields, params: {mapping: {name: who}}}
        """,
    )
    assert {item.data["persona"]["who"] for item in items(task)} == {"Cy"}


def test_an_alias_that_is_already_a_field_fails_the_record(tmp_path: Path) -> None:
    """Joining under a name the primary record already uses fails that record, named."""
    task = task_with(
        tmp_path,
        """
        - {type: disk, file_path: questions.jsonl, alias: q, join_type: primary}
        - {type: disk, file_path: personas.jsonl, alias: text, join_type: sequential}
        """,
        n=1,
    )
    (only,) = items(task)
    assert only.error is not None
    assert "record 'q0' already has a field 'text'" in only.error


@pytest.mark.parametrize("kind", ["sequential", "random", "cross"])
def test_bad_or_empty_secondary_stops_the_run(tmp_path: Path, kind: str) -> None:
    """A secondary with an unreadable line, or with no records, is a source error."""
    bad = task_with(
        tmp_path / "bad", PERSONA_JOIN.format(kind=kind), {"personas.jsonl": '{"id": 1}\nnope\n'}
    )
    with pytest.raises(SourceError, match=r"secondary source 'persona': .*personas.jsonl:2"):
        items(bad)
    empty = task_with(tmp_path / "empty", PERSONA_JOIN.format(kind=kind), {"personas.jsonl": ""})
    with pytest.raises(SourceError, match="secondary source 'persona' has no records"):
        items(empty)


def test_persona_join_feeds_the_prompt(tmp_path: Path, mock_server: MockServer) -> None:
    """End to end: `{persona.name}` in a prompt reads the joined record."""
    task = task_with(tmp_path, PERSONA_JOIN.format(kind="random"))
    expected = pairs(task)
    mock_server.reset()
    result = run_task(task, RunOptions(mock=mock_server.url))
    assert result.done == 6
    sent = sorted(r["messages"][-1]["content"] for r in mock_server.requests())
    assert sent == sorted(f"as {expected[f'q{i}']}: question {i}" for i in range(6))
    out = {r["id"]: r["persona"]["name"] for r in result.records()}
    assert out == expected


@pytest.mark.slow
def test_resume_after_kill_keeps_random_pairs(tmp_path: Path) -> None:
    """Killed mid-run and resumed, a random join pairs every record exactly as a run that
    was never interrupted; each record is written once."""
    n = 80
    task = task_with(tmp_path / "killed", PERSONA_JOIN.format(kind="random"), n=n)
    reference = task_with(tmp_path / "clean", PERSONA_JOIN.format(kind="random"), n=n)
    output = tmp_path / "killed/out/result.jsonl"
    server = MockServer(latency=Latency.fixed(0.03), max_seconds=300)
    with server.running() as url:
        cmd = [sys.executable, "-m", "grasp_core", "run", str(task), "--mock-url", url, "--quiet"]
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        proc = subprocess.Popen([*cmd, "--seed", "11"], env=env, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if output.exists() and len(output.read_text().splitlines()) >= 10:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        written = len(output.read_text().splitlines())
        assert 0 < written < n
        resumed = subprocess.run([*cmd, "--resume"], env=env, capture_output=True, timeout=120)
        assert resumed.returncode == 0, resumed.stderr.decode()
        clean = run_task(reference, RunOptions(mock=url, seed=11))
    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert Counter(r["id"] for r in records) == Counter(f"q{i}" for i in range(n))
    got = {r["id"]: r["persona"]["name"] for r in records}
    assert got == {r["id"]: r["persona"]["name"] for r in clean.records()}
    assert got == pairs(task, seed=11)
