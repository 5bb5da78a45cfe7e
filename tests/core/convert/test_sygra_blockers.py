"""What blocked SyGra's own tasks after ``grasp convert sygra --models``: fixtures written here
in SyGra's shape (a repository root with ``tasks/examples/<task>`` and a models file)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grasp_core.cli.app import main
from tests.core.convert.test_sygra_convert import GRAPH_CONFIG, TASK_EXECUTOR

MODELS_WITH_MEDIA = """\
writer:
  model_type: vllm
  model_serving_name: qwen
  parameters: {temperature: 0.7}
transcribe:
  model: gpt-4o-transcribe
  input_type: audio  # a speech-to-text entry, as SyGra's models file has
  model_type: azure_openai
  api_version: 2025-03-01-preview
  parameters:
    language: en
    response_format: json
    temperature: 0
"""


def test_a_transcription_entry_asking_for_json_does_not_block_the_tasks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A SyGra transcription entry with ``response_format: json`` loads (GraSP keeps the
    transcription's text), so the models file copied beside every task lets them run."""
    task = tmp_path / "sygra" / "tasks" / "examples" / "qa"
    task.mkdir(parents=True)
    (task / "graph_config.yaml").write_text(GRAPH_CONFIG, encoding="utf-8")
    (task / "task_executor.py").write_text(TASK_EXECUTOR, encoding="utf-8")
    (task / "questions.jsonl").write_text('{"topic": "Why is the sky blue"}\n', encoding="utf-8")
    models = tmp_path / "sygra" / "models.yaml"
    models.write_text(MODELS_WITH_MEDIA, encoding="utf-8")
    dest = tmp_path / "out"
    code = main(
        ["convert", "sygra", str(tmp_path / "sygra" / "tasks"), str(dest), "--models", str(models)]
    )
    assert code == 0, capsys.readouterr()
    converted = dest / "examples" / "qa"
    assert "transcribe:" in (converted / "models.yaml").read_text(encoding="utf-8")
    assert main(["run", str(converted), "--mock", "--overwrite"]) == 0
    rows = [json.loads(line) for line in (converted / "output" / "answers.jsonl").open()]
    assert [row["answer"] for row in rows] == ["Why is the sky blue?"]
