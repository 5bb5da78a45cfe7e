"""`NAME.provenance.json` beside a finished run's output: the task file with secrets
masked, the models-file entries without keys, GraSP's version, the seed, the source, the
run's dates, calls, tokens and cost, the record counts and the profile of a `profile`
step; a key set in the environment never appears in it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grasp_core import RunOptions, run_task
from grasp_core.mock_server import MockServer
from grasp_core.runs.provenance import grasp_version
from tests.conftest import write_task

SECRET = "live0123456789abcdefSECRETvalue"
"""Not shaped like a known key: only its variable, named by the models file, masks it."""

TASK = f"""
# pasted by mistake: {SECRET}
data_config:
  source: {{type: disk, file_path: data.jsonl}}
  sink: {{type: jsonl, file_path: out/answers.jsonl}}
graph_config:
  nodes:
    answer:
      node_type: llm
      output_keys: answer
      prompt:
        - user: "{{text}}"
      model: {{name: m}}
  edges:
    - {{from: START, to: answer}}
    - {{from: answer, to: END}}
output_config:
  output_map:
    id: {{from: id}}
    answer: {{from: answer}}
post_process:
  - profile: {{fields: [answer]}}
"""

MODELS = "m:\n  model: openai/m\n  api_base: {url}/v1\n  api_key_env: GRASP_TEST_PROVENANCE_KEY\n"


def test_a_finished_run_writes_its_provenance(
    tmp_path: Path, mock_server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three records through the mock: the provenance holds the task text (the pasted key
    masked), the model entry (its variable's name, not its value), seed 7, the source file,
    ISO dates, three calls with their tokens, three records written and the profile."""
    monkeypatch.setenv("GRASP_TEST_PROVENANCE_KEY", SECRET)
    rows = [
        {"id": f"r{i}", "text": f"say {word}"} for i, word in enumerate(["one", "two", "three"])
    ]
    (tmp_path / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    task = write_task(tmp_path, TASK, {"models.yaml": MODELS.format(url=mock_server.url)})
    run_task(task, RunOptions(seed=7))
    path = tmp_path / "out" / "answers.provenance.json"
    text = path.read_text(encoding="utf-8")
    assert SECRET not in text
    facts = json.loads(text)
    assert facts["grasp_version"] == grasp_version() != "unknown"
    assert facts["task"]["name"] == tmp_path.name
    assert facts["task"]["file"] == str(task)
    assert "pasted by mistake: <redacted>" in facts["task"]["yaml"]
    assert "node_type: llm" in facts["task"]["yaml"]
    assert facts["models"]["m"]["model"] == "openai/m"
    assert facts["models"]["m"]["api_key_env"] == "GRASP_TEST_PROVENANCE_KEY"
    assert facts["seed"] == 7
    assert facts["sources"] == [{"type": "disk", "file_path": "data.jsonl"}]
    assert facts["run"]["started"] <= facts["run"]["finished"]
    assert facts["run"]["started"].endswith("+00:00")
    assert facts["usage"]["model_calls"] == 3
    assert facts["usage"]["prompt_tokens"] > 0
    assert facts["records"]["written"] == 3
    assert facts["profile"]["records"] == 3
    assert facts["profile"]["fields"]["answer"]["words"]["max"] == 2


def test_a_run_with_nothing_written_still_has_provenance(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """An empty source: the run finishes and writes its provenance, with no record and,
    its steps skipped (`post_process=False`), no profile."""
    (tmp_path / "data.jsonl").write_text("")
    task = write_task(
        tmp_path,
        TASK,
        {"models.yaml": MODELS.format(url="http://127.0.0.1:1").split("  api_key_env")[0]},
    )
    run_task(task, RunOptions(mock=mock_server.url, post_process=False))
    facts = json.loads((tmp_path / "out" / "answers.provenance.json").read_text())
    assert facts["records"]["written"] == 0
    assert "profile" not in facts


HEADER_KEY = "hdr0123456789abcdefHEADERvalue"
URL_PASSWORD = "Pa55wordXYZ"


def test_credentials_in_urls_and_headers_are_masked(
    tmp_path: Path, mock_server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A password in a URL (`https://user:PASS@host`, here pasted in the task file) and a
    header value under the model's `extra_headers` are masked in the provenance, whatever
    their shape; the names of the variables that hold keys are kept."""
    monkeypatch.setenv("GRASP_TEST_PROVENANCE_KEY", SECRET)
    (tmp_path / "data.jsonl").write_text('{"id": "a", "text": "hi"}\n')
    task_text = f"# mirror: https://alice:{URL_PASSWORD}@mirror.example.com/data\n{TASK}"
    models = (
        f"m:\n  model: openai/m\n  api_base: {mock_server.url}/v1\n"
        "  api_key_env: GRASP_TEST_PROVENANCE_KEY\n"
        f"  parameters:\n    extra_headers: {{X-Api-Key: {HEADER_KEY}}}\n"
    )
    task = write_task(tmp_path, task_text, {"models.yaml": models})
    run_task(task, RunOptions(post_process=False))
    text = (tmp_path / "out" / "answers.provenance.json").read_text(encoding="utf-8")
    assert URL_PASSWORD not in text
    assert HEADER_KEY not in text
    facts = json.loads(text)
    assert "https://alice:<redacted>@mirror.example.com/data" in facts["task"]["yaml"]
    model = facts["models"]["m"]
    assert model["parameters"]["extra_headers"] == {"X-Api-Key": "<redacted>"}
    assert model["api_key_env"] == "GRASP_TEST_PROVENANCE_KEY"
