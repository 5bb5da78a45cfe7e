"""Tasks whose source is a list (questions joined to personas by default), and reading the
records their source yields.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from grasp_core.config.task_file import Task
from grasp_core.protocols import Source, SourceItem
from grasp_core.sourcing import build_source
from tests.conftest import write_task

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
