"""SyGra's own `graph_post_process` processors run as GraSP's post-process steps: its
SemanticDedupPostProcessor is the `embedding_dedup` step with the settings translated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grasp_core import RunOptions, run_task
from grasp_core.config.task_file import Task
from grasp_core.errors import ConfigError
from tests.conftest import write_task

TASK = """
data_config:
  source: {type: disk, file_path: prompts.jsonl}
  sink: {type: jsonl, file_path: out/answers.jsonl}
graph_config:
  nodes:
    respond:
      node_type: llm
      output_keys: answer
      prompt:
        - user: "{prompt}"
      model: {name: writer}
  edges:
    - {from: START, to: respond}
    - {from: respond, to: END}
graph_post_process:
  - processor: sygra.core.graph.graph_postprocessor.SemanticDedupPostProcessor
    params:
      field: answer
      similarity_threshold: 0.9
      id_field: id
      embedding_backend: sentence_transformers
      embedding_model: all-MiniLM-L6-v2
      keep: first
      max_pairs_in_report: 1000
"""

PROMPTS = [
    {"id": "1", "prompt": "Explain in two sentences why unit tests are useful for teams."},
    {"id": "2", "prompt": "Explain in two sentences why unit tests are useful for a team."},
    {"id": "3", "prompt": "What is a database index?"},
]


def _task(folder: Path, text: str = TASK) -> Path:
    lines = "".join(json.dumps(row) + "\n" for row in PROMPTS)
    (folder / "prompts.jsonl").write_text(lines, encoding="utf-8")
    return write_task(folder, text).rename(folder / "graph_config.yaml")


def test_semantic_dedup_runs_as_embedding_dedup(tmp_path: Path) -> None:
    """The rewording of a kept answer is removed by `embedding_dedup`, reported with the
    record it repeats; the model is SyGra's `embedding_model` (the mock embeds it)."""
    result = run_task(_task(tmp_path), RunOptions(mock=True, overwrite=True))
    assert result.failed == 0
    curated = (tmp_path / "out" / "answers.curated.jsonl").read_text(encoding="utf-8")
    assert [json.loads(line)["id"] for line in curated.splitlines()] == ["1", "3"]
    (removed,) = [
        json.loads(line)
        for line in (tmp_path / "out" / "answers.removed.jsonl").read_text().splitlines()
    ]
    assert removed["id"] == "2"
    assert removed["step"] == "embedding_dedup"
    assert removed["details"]["duplicate_of"] == "1"
    assert result.metrics["post_process"]["kept"] == 2


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("keep: last", "graph_post_process[0].params.keep: 'last': GraSP keeps the first"),
        ("embedding_backend: openai\n      keep: first", "'openai' is not one SyGra supports"),
        ("min_size: 3", "unknown setting(s) ['min_size']"),
    ],
)
def test_settings_grasp_cannot_honour_are_one_line_with_the_file_line(
    tmp_path: Path, setting: str, message: str
) -> None:
    """`keep: last`, another embedding backend or an unknown setting stops the load with
    the file, the line and what to do."""
    text = TASK.replace("      embedding_backend: sentence_transformers\n", "").replace(
        "keep: first", setting
    )
    task = _task(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        Task.load(task)
    assert str(caught.value).startswith(f"{task}:")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_converter_adds_the_embedder_entry_and_refuses_what_grasp_cannot_honour(
    tmp_path: Path,
) -> None:
    """`grasp convert sygra --models` adds a models-file entry for the sentence-transformers
    model SyGra's semantic dedup names (a local model, as SyGra loads it), noted in the
    report; a task whose processor asks what GraSP cannot honour gets no task.yaml and a
    report line with its file and line."""
    from grasp_core.cli.app import main

    tasks = tmp_path / "sygra" / "tasks" / "examples"
    for name, text in (("dedup", TASK), ("last", TASK.replace("keep: first", "keep: last"))):
        (tasks / name).mkdir(parents=True)
        _task(tasks / name, text)
    models = tmp_path / "models.yaml"
    models.write_text("writer:\n  model_type: openai\n  model: gpt-4o-mini\n", encoding="utf-8")
    dest = tmp_path / "out"
    code = main(
        ["convert", "sygra", str(tmp_path / "sygra" / "tasks"), str(dest), "--models", str(models)]
    )
    report = (dest / "CONVERT_REPORT.md").read_text(encoding="utf-8")
    assert code == 1
    written = (dest / "examples" / "dedup" / "models.yaml").read_text(encoding="utf-8")
    assert "all-MiniLM-L6-v2:\n  model: local/all-MiniLM-L6-v2\n" in written
    assert "entry 'all-MiniLM-L6-v2' added" in report
    assert (dest / "examples" / "dedup" / "task.yaml").is_file()
    assert not (dest / "examples" / "last" / "task.yaml").exists()
    assert "examples/last/graph_config.yaml:18: graph_post_process[0].params.keep: 'last'" in report
