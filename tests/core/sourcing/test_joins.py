"""Several sources: secondaries joined to a primary (sequential, random, cross, column) or
stacked (vstack); the list's config rules; ids unique and stable across runs and resumes."""

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
from grasp_core.config.task_file import Task
from grasp_core.errors import ConfigError, SourceError
from grasp_core.mock_server import Latency, MockServer
from grasp_core.protocols import Source, SourceItem
from grasp_core.sourcing import build_source
from tests.conftest import REPO_ROOT, write_task

PERSONAS = "".join(
    json.dumps({"id": f"p{i}", "name": name}) + "\n" for i, name in enumerate(["Ada", "Bo", "Cy"])
)


def questions(n: int) -> str:
    return "".join(json.dumps({"id": f"q{i}", "text": f"question {i}"}) + "\n" for i in range(n))


GRAPH = """
graph_config:
  nodes:
    ask:
      node_type: llm
      output_keys: answer
      prompt:
        - user: "as {persona.name}: {text}"
      model: {name: m}
  edges:
    - {from: START, to: ask}
    - {from: ask, to: END}
"""
MODELS = "m:\n  model: openai/m\n  api_base: http://127.0.0.1:1/v1\n  max_concurrency: 4\n"


def task_with(
    folder: Path, sources_yaml: str, files: dict[str, str] | None = None, n: int = 6
) -> Path:
    body = textwrap.indent(textwrap.dedent(sources_yaml).strip(), "    ")
    text = (
        f"data_config:\n  source:\n{body}\n  sink: {{type: jsonl, file_path: out/result.jsonl}}\n"
    )
    defaults = {"questions.jsonl": questions(n), "personas.jsonl": PERSONAS, "models.yaml": MODELS}
    return write_task(folder, text + GRAPH, {**defaults, **(files or {})})


def source_of(path: Path, seed: int = 0) -> Source:
    task = Task.load(path)
    return build_source(
        task.config.data_config, task_dir=task.task_dir, document=task.document, seed=seed
    )


def items(path: Path, seed: int = 0, start: int = 0, limit: int | None = None) -> list[SourceItem]:
    return list(source_of(path, seed).iter_records(start=start, limit=limit))


def pairs(path: Path, seed: int = 0) -> dict[str, str]:
    return {item.record_id: item.data["persona"]["name"] for item in items(path, seed)}


PERSONA_JOIN = """
- {{type: disk, file_path: questions.jsonl, alias: q, join_type: primary}}
- {{type: disk, file_path: personas.jsonl, alias: persona, join_type: {kind}}}
"""


def test_sequential_join_cycles_through_the_secondary(tmp_path: Path) -> None:
    """Record n gets secondary record n, starting over when the secondary runs out; the
    secondary's fields land under its alias and the primary id is kept."""
    got = items(task_with(tmp_path, PERSONA_JOIN.format(kind="sequential")))
    assert got[0] == SourceItem(
        "q0", {"id": "q0", "text": "question 0", "persona": {"id": "p0", "name": "Ada"}}
    )
    assert [item.data["persona"]["name"] for item in got] == ["Ada", "Bo", "Cy"] * 2


def test_start_and_limit_do_not_shift_sequential_pairs(tmp_path: Path) -> None:
    """start_index counts joined records, so a record keeps its partner whatever the window."""
    task = task_with(tmp_path, PERSONA_JOIN.format(kind="sequential"))
    window = items(task, start=2, limit=2)
    assert [(i.record_id, i.data["persona"]["name"]) for i in window] == [
        ("q2", "Cy"),
        ("q3", "Ada"),
    ]


def test_random_join_depends_on_seed_and_record_id_only(tmp_path: Path) -> None:
    """A random partner is fixed by the run seed and the record id: the same in every run,
    in any window, and different under another seed."""
    task = task_with(tmp_path, PERSONA_JOIN.format(kind="random"), n=60)
    first = pairs(task, seed=3)
    assert pairs(task, seed=3) == first
    assert set(first.values()) == {"Ada", "Bo", "Cy"}
    window = items(task, seed=3, start=40, limit=5)
    assert {i.record_id: i.data["persona"]["name"] for i in window} == {
        f"q{n}": first[f"q{n}"] for n in range(40, 45)
    }
    assert pairs(task, seed=4) != first


def test_cross_join_pairs_every_record_with_every_partner(tmp_path: Path) -> None:
    """A cross join yields one record per pair, with ids that name both sides."""
    got = items(task_with(tmp_path, PERSONA_JOIN.format(kind="cross"), n=2))
    assert [item.record_id for item in got] == [
        "q0|persona:p0",
        "q0|persona:p1",
        "q0|persona:p2",
        "q1|persona:p0",
        "q1|persona:p1",
        "q1|persona:p2",
    ]
    assert got[4].data == {
        "id": "q1|persona:p1",
        "text": "question 1",
        "persona": {"id": "p1", "name": "Bo"},
    }


def test_column_join_matches_keys_as_text(tmp_path: Path) -> None:
    """A column join finds the partner by key (a CSV's "7" matches JSON's 7); a record
    without a match, or without the key, fails with the reason instead of vanishing."""
    primary = "".join(
        json.dumps(row) + "\n"
        for row in [
            {"id": "a", "doc": 7},
            {"id": "b", "doc": 8},
            {"id": "c", "doc": 9},
            {"id": "d"},
        ]
    )
    docs = "doc_id,title\n7,Seven\n8,Eight\n"
    task = task_with(
        tmp_path,
        """
        - {type: disk, file_path: primary.jsonl, alias: main, join_type: primary}
        - type: disk
          file_path: docs.csv
          alias: document
          join_type: column
          primary_key: doc
          join_key: doc_id
        """,
        {"primary.jsonl": primary, "docs.csv": docs},
    )
    got = items(task)
    assert got[0] == SourceItem(
        "a", {"id": "a", "doc": 7, "document": {"doc_id": "7", "title": "Seven"}}
    )
    assert got[1].data["document"]["title"] == "Eight"
    assert got[2].error is not None
    assert "no record of source 'document' has doc_id = '9'" in got[2].error
    assert got[3].error is not None
    assert "has no field 'doc'" in got[3].error


def test_column_join_needs_unique_keys(tmp_path: Path) -> None:
    """Two secondary records with one key stop the run with both ids named."""
    task = task_with(
        tmp_path,
        """
        - {type: disk, file_path: questions.jsonl, alias: q, join_type: primary}
        - {type: disk, file_path: dup.jsonl, alias: d, join_type: column, primary_key: id,
           join_key: k}
        """,
        {"dup.jsonl": '{"id": "x", "k": 1}\n{"id": "y", "k": 1}\n'},
    )
    with pytest.raises(SourceError, match="records 'x' and 'y' both have k = '1'"):
        items(task)


def test_vstack_concatenates_with_alias_prefixed_ids(tmp_path: Path) -> None:
    """vstack yields every source's records in list order; ids carry the alias, so two files
    with the same ids do not collide."""
    task = task_with(
        tmp_path,
        """
        - {type: disk, file_path: questions.jsonl, alias: q, join_type: vstack}
        - {type: disk, file_path: more.jsonl, alias: more, join_type: vstack}
        """,
        {"more.jsonl": '{"id": "q0", "text": "again"}\n'},
        n=2,
    )
    assert [(i.record_id, i.data["text"]) for i in items(task)] == [
        ("q:q0", "question 0"),
        ("q:q1", "question 1"),
        ("more:q0", "again"),
    ]
    assert [i.record_id for i in items(task, start=1, limit=1)] == ["q:q1"]


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


@pytest.mark.parametrize(
    ("sources_yaml", "message"),
    [
        (
            """
            - {type: disk, file_path: questions.jsonl, join_type: primary}
            """,
            "item 0 has no `alias`",
        ),
        (
            """
            - {type: disk, file_path: questions.jsonl, alias: q, join_type: primary}
            - {type: disk, file_path: personas.jsonl, alias: p, join_type: rand}
            """,
            "source 'p' (item 1) has join_type 'rand'; use one of primary, sequential, random",
        ),
        (
            """
            - {type: disk, file_path: questions.jsonl, alias: q, join_type: primary}
            - {type: disk, file_path: personas.jsonl, alias: p, join_type: column, join_key: id}
            """,
            "has join_type 'column' but no `primary_key`",
        ),
        (
            """
            - {type: disk, file_path: questions.jsonl, alias: q, join_type: primary}
            - {type: disk, file_path: personas.jsonl, alias: q, join_type: random}
            """,
            "the aliases ['q'] are used by more than one source",
        ),
        (
            """
            - {type: disk, file_path: questions.jsonl, alias: q, join_type: primary}
            - {type: disk, file_path: personas.jsonl, alias: p, join_type: primary}
            """,
            "exactly one with `join_type: primary`, found 2 ('q', 'p')",
        ),
        (
            """
            - {type: disk, file_path: questions.jsonl, alias: q, join_type: random}
            """,
            "exactly one with `join_type: primary`, found none",
        ),
        (
            """
            - {type: disk, file_path: questions.jsonl, alias: q, join_type: primary}
            - {type: disk, file_path: personas.jsonl, alias: p, join_type: vstack}
            """,
            "cannot be mixed with other join types",
        ),
    ],
)
def test_source_list_rules_are_config_errors_with_a_line(
    tmp_path: Path, sources_yaml: str, message: str
) -> None:
    """Each rule of a source list is checked when the task loads, naming file and line."""
    task = task_with(tmp_path, sources_yaml)
    with pytest.raises(ConfigError) as caught:
        Task.load(task)
    assert message in str(caught.value)
    assert "task.yaml:2: data_config.source" in str(caught.value)


def test_a_lone_source_cannot_ask_for_a_join(tmp_path: Path) -> None:
    """`join_type: random` on the only source is refused: there is nothing to join."""
    task = task_with(tmp_path, "{type: disk, file_path: questions.jsonl, join_type: random}")
    with pytest.raises(ConfigError, match="join_type 'random' joins this source with others"):
        Task.load(task)


def test_a_typo_inside_a_listed_source_names_its_item(tmp_path: Path) -> None:
    """A bad key of one listed source is reported at that item's path and line."""
    task = task_with(
        tmp_path,
        """
        - {type: disk, file_path: questions.jsonl, alias: q, join_type: primary}
        - {type: disk, file_path: personas.jsonl, alias: p, join_type: random, fil_format: csv}
        """,
    )
    with pytest.raises(ConfigError, match=r"task.yaml:4: data_config.source\[1\].fil_format"):
        source_of(task)


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
