"""A task's `post_process` (and SyGra's `graph_post_process`): checked when the task loads,
run after `grasp run` over the finished output against the mock server, counted in the
summary and metrics, never touching the generation's output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from grasp_core import END, START, Graph, RunOptions, Task, run_task
from grasp_core.cli import main
from grasp_core.errors import ConfigError, PostProcessError
from grasp_core.mock_server import MockServer
from tests.conftest import write_task
from tests.core.postprocess.helpers import read_jsonl, write_jsonl, write_user_steps

TEXTS = [
    "the cat sat on the mat",
    "The  cat sat on the MAT",
    "a dog ran in the park",
    "the cat sat on the mat",
    "something else entirely",
]

TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/answers.jsonl}
graph_config:
  nodes:
    answer:
      node_type: llm
      output_keys: answer
      prompt:
        - user: "{text}"
      model: {name: m}
  edges:
    - {from: START, to: answer}
    - {from: answer, to: END}
output_config:
  output_map:
    id: {from: id}
    answer: {from: answer}
"""

MODELS = "m:\n  model: openai/m\n  api_base: http://127.0.0.1:1/v1\n"

PROCESSOR = '''
class KeepShort:
    """A SyGra-style processor: the whole list in, the records to keep out."""

    def __init__(self, max_words, marker="short"):
        self.max_words = max_words
        self.marker = marker

    def process(self, data, metadata):
        kept = [r for r in data if len(r["answer"].split()) <= self.max_words]
        for record in kept:
            record[self.marker] = metadata["output_file"].endswith("answers.jsonl")
        return kept


class AsyncUpper:
    async def process(self, data, metadata):
        return [{**r, "answer": r["answer"].upper()} for r in data]


class ReturnsCount:
    def process(self, data, metadata):
        return len(data)
'''


def make_task(folder: Path, steps: str, files: dict[str, str] | None = None) -> Path:
    rows = [{"id": f"r{i}", "text": text} for i, text in enumerate(TEXTS)]
    write_jsonl(folder / "data.jsonl", rows)
    write_user_steps(folder)
    return write_task(folder, TASK + steps, {"models.yaml": MODELS, **(files or {})})


def test_steps_run_after_the_run_and_are_counted(tmp_path: Path, mock_server: MockServer) -> None:
    """The mock echoes each prompt; the exact dedup removes the two copies of the first
    answer, writes `answers.curated.jsonl` and `answers.removed.jsonl` beside the output
    (which keeps all five), and the summary and metrics hold the counts."""
    task = make_task(tmp_path, "post_process:\n  - dedup: {fields: [answer]}\n")
    result = run_task(task, RunOptions(mock=mock_server.url))
    out = tmp_path / "out"
    assert len(read_jsonl(out / "answers.jsonl")) == 5
    assert [r["id"] for r in read_jsonl(out / "answers.curated.jsonl")] == ["r0", "r2", "r4"]
    removed = read_jsonl(out / "answers.removed.jsonl")
    assert [(r["id"], r["details"]["duplicate_of"]) for r in removed] == [
        ("r1", "r0"),
        ("r3", "r0"),
    ]
    summary = json.loads((out / "answers.summary.json").read_text())["post_process"]
    metrics = json.loads((out / "answers.metrics.json").read_text())["post_process"]
    assert summary == metrics == result.metrics["post_process"]
    assert (summary["read"], summary["kept"], summary["removed"]) == (5, 3, 2)
    assert summary["steps"][0]["removed"] == 2
    assert summary["outputs"] == [str(out / "answers.curated.jsonl")]
    assert not (out / "answers.curating").exists()


def test_changed_steps_rerun_on_resume(tmp_path: Path, mock_server: MockServer) -> None:
    """Steps are not part of the task's fingerprint: after changing them, `--resume` of the
    finished run calls no model and runs the new steps over the same output."""
    task = make_task(tmp_path, "post_process:\n  - dedup: {fields: [answer]}\n")
    run_task(task, RunOptions(mock=mock_server.url))
    text = task.read_text().replace("{fields: [answer]}", "{fields: [answer], roles: [x]}")
    task.write_text(text + "  - user_steps.Tag\n")
    mock_server.reset()
    result = run_task(task, RunOptions(mock=mock_server.url, resume=True))
    assert mock_server.requests() == []
    curated = read_jsonl(tmp_path / "out" / "answers.curated.jsonl")
    assert [r["tagged"] for r in curated] == [True] * 3
    assert [s["step"] for s in result.metrics["post_process"]["steps"]] == [
        "dedup",
        "user_steps.Tag",
    ]


def test_no_post_process_skips_the_steps(tmp_path: Path, mock_server: MockServer) -> None:
    """`--no-post-process` (RunOptions.post_process=False) writes the output only."""
    task = make_task(tmp_path, "post_process:\n  - dedup\n")
    code = main(["run", str(task), "--mock-url", mock_server.url, "--no-post-process", "--quiet"])
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "out").glob("answers.*.jsonl")) == [
        "answers.failures.jsonl",
        "answers.journal.jsonl",
    ]


def test_sygra_processor_runs_over_the_whole_list(tmp_path: Path, mock_server: MockServer) -> None:
    """SyGra's `graph_post_process`: the class is created with `params`, gets every record
    and the metadata (`output_file`), and what it leaves out is reported as dropped by it;
    an `async def process` works too."""
    steps = """
graph_post_process:
  - processor: processors.KeepShort
    params: {max_words: 3, marker: from_run}
  - processors.AsyncUpper
"""
    task = make_task(tmp_path, steps, {"processors.py": PROCESSOR})
    result = run_task(task, RunOptions(mock=mock_server.url))
    curated = read_jsonl(tmp_path / "out" / "answers.curated.jsonl")
    assert curated == [{"id": "r4", "answer": "SOMETHING ELSE ENTIRELY", "from_run": True}]
    removed = read_jsonl(tmp_path / "out" / "answers.removed.jsonl")
    assert {(r["id"], r["step"], r["reason"]) for r in removed} == {
        (f"r{i}", "processors.KeepShort", "dropped by processors.KeepShort") for i in range(4)
    }
    assert result.metrics["post_process"]["steps"][1]["results"] == {"returned": 1}


def test_a_processor_returning_no_list_stops_with_one_line(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """A processor that returns something else than a list of records fails the post-process
    with a message naming it; the run's own output is complete."""
    task = make_task(
        tmp_path, "graph_post_process: [processors.ReturnsCount]\n", {"processors.py": PROCESSOR}
    )
    with pytest.raises(PostProcessError, match=r"ReturnsCount'?: process\(\) returned int") as err:
        run_task(task, RunOptions(mock=mock_server.url))
    assert "is complete and unchanged" in str(err.value)
    assert len(read_jsonl(tmp_path / "out" / "answers.jsonl")) == 5
    assert json.loads((tmp_path / "out" / "answers.summary.json").read_text())["done"] == 5


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (
            "post_process:\n  - dedupe: {}\n",
            r"task.yaml:\d+: post_process\[0\]: unknown post-process step 'dedupe' "
            r"\(did you mean 'dedup'\?\)",
        ),
        (
            "post_process:\n  - dedup: {method: minhash, thresold: 0.5}\n",
            r"task.yaml:\d+: post_process\[0\].dedup.thresold: unknown key 'thresold' "
            r"\(did you mean 'threshold'\?\)",
        ),
        (
            "post_process:\n  - dedup\ngraph_post_process:\n  - processors.AsyncUpper\n",
            r"task.yaml:\d+: graph_post_process: a task lists its steps under `post_process` or",
        ),
        (
            "graph_post_process:\n  - processor: processors.KeepShort\n    params: {max_word: 5}\n",
            r"task.yaml:\d+: graph_post_process\[0\].params: processor 'processors.KeepShort' "
            r"cannot be created with these params \(missing a required argument: 'max_words'\)",
        ),
        (
            "post_process:\n  - processors.NotThere: {}\n",
            r"task.yaml:\d+: post_process\[0\]: cannot find post-process step "
            r"'processors.NotThere': 'processors' has no attribute 'NotThere'",
        ),
    ],
)
def test_bad_steps_stop_the_task_when_it_loads(tmp_path: Path, steps: str, message: str) -> None:
    """A bad step is one line naming the file, the line and the YAML path, raised when the
    task is loaded: before a run starts, and by `grasp validate`."""
    task = make_task(tmp_path, steps, {"processors.py": PROCESSOR})
    with pytest.raises(ConfigError, match=message):
        Task.load(task)


def test_a_task_built_in_python_can_have_steps(tmp_path: Path) -> None:
    """`Graph.to_task(post_process=...)` and `Task.from_dict` take the steps, a processor
    class may be given as is, and the steps leave the task's fingerprint alone."""

    class DropAll:
        def process(self, data: list[dict[str, Any]], metadata: dict[str, Any]) -> list[Any]:
            return []

    graph = (
        Graph()
        .add_node("n", "lambda", output_keys="x", **{"lambda": lambda s: "same"})
        .add_edge(START, "n")
        .add_edge("n", END)
    )
    data = {"num_records": 3, "sink": {"type": "jsonl", "file_path": "out.jsonl"}}
    task = graph.to_task(
        data_config=data, post_process=[{"dedup": {"fields": ["x"]}}], task_dir=tmp_path
    )
    run_task(task, RunOptions(output_dir=tmp_path))
    assert len(read_jsonl(tmp_path / "out.curated.jsonl")) == 1
    blocks = {key: value for key, value in task.data.items() if key != "post_process"}
    other = Task.from_dict({**blocks, "graph_post_process": [DropAll]}, task_dir=tmp_path)
    assert task.fingerprint() == other.fingerprint()
    result = run_task(other, RunOptions(output_dir=tmp_path, resume=True))
    assert result.metrics["post_process"]["kept"] == 0
    assert read_jsonl(tmp_path / "out.curated.jsonl") == []
