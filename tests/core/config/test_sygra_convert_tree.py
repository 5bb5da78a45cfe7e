"""``grasp convert sygra`` on trees written here in SyGra's shape (a repository root holding
``tasks/...``): paths from SyGra's root, imports of the tree's own modules, SyGra's package
prefix on dotted paths, null output fields, data-less tasks and SyGra's built-in names. Each
converted task then runs with ``grasp run --mock``."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from grasp_core.cli.app import main


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


def _convert(root: Path, dest: Path) -> tuple[int, str]:
    code = main(["convert", "sygra", str(root / "tasks"), str(dest)])
    return code, (dest / "CONVERT_REPORT.md").read_text(encoding="utf-8")


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _png() -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x10\x20\x30")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


PICTURES = """\
data_config:
  source:
    type: disk
    file_path: tasks/examples/pictures/records.json  # from SyGra's root
  sink:
    type: jsonl
    file_path: tasks/examples/pictures/out/described.jsonl
graph_config:
  nodes:
    describe:
      node_type: llm
      output_keys: description
      post_process: grasp.tasks.examples.pictures.task_executor.Keep
      prompt:
        - user:
            - type: text
              text: "Describe {title}"
            - type: image_url
              image_url: "{image}"
      model: {name: viewer}
  edges:
    - {from: START, to: describe}
    - {from: describe, to: END}
output_config:
  output_map:
    id: {from: id}
    description: {from: description}
    caption: {from: caption}
"""


def test_paths_from_sygras_root_and_package_prefixes_are_rebased(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A data file, a sink folder and media paths inside the records written from SyGra's
    root, and a hook path with SyGra's old package prefix (`grasp.tasks...`), all name the
    converted task's own files (folders given as relative paths too); the changes are listed
    in the report, and the task runs."""
    root = tmp_path / "sygra"
    records = [{"id": "p1", "title": "a dot", "image": "tasks/examples/pictures/img/dot.png"}]
    _write(
        root,
        {
            "tasks/examples/pictures/graph_config.yaml": PICTURES,
            "tasks/examples/pictures/records.json": json.dumps(records),
            "tasks/examples/pictures/task_executor.py": """\
                class Keep:
                    def apply(self, response):
                        return {"description": "seen: " + response.message.content[:9]}
            """,
        },
    )
    (root / "tasks/examples/pictures/img").mkdir()
    (root / "tasks/examples/pictures/img/dot.png").write_bytes(_png())
    (root / "tasks/examples/pictures/out").mkdir()
    dest = tmp_path / "out"
    monkeypatch.chdir(tmp_path)
    code, report = _convert(Path("sygra"), Path("out"))
    assert code == 0, report
    task = dest / "examples" / "pictures"
    text = (task / "task.yaml").read_text(encoding="utf-8")
    assert 'file_path: "records.json"' in text or "file_path: records.json" in text
    assert "file_path: out/described.jsonl" in text
    assert "post_process: task_executor.Keep" in text
    assert json.loads((task / "records.json").read_text(encoding="utf-8"))[0]["image"] == (
        "img/dot.png"
    )
    assert "'tasks/examples/pictures/records.json' is now 'records.json'" in report
    assert "1 media path(s) in the records of records.json" in report
    assert main(["run", str(task), "--mock", "--overwrite"]) == 0
    assert _rows(task / "out" / "described.jsonl") == [
        {"id": "p1", "description": "seen: Describe ", "caption": None}
    ]


EVAL_TASK = """\
data_config:
  source: {type: disk, file_path: tasks/eval/grade/items.jsonl}
  sink: {type: jsonl, file_path: out.jsonl}
graph_config:
  nodes:
    check:
      node_type: lambda
      lambda: tasks.eval.grade.task_executor.Check
      output_keys: [verdict]
  edges:
    - {from: START, to: check}
    - {from: check, to: END}
"""


def test_python_imports_of_the_trees_modules_follow_the_copy(tmp_path: Path) -> None:
    """`from tasks.eval.shared import f` in a task's module (SyGra imports from its root)
    imports the copy of that module in the task's `_sygra_shared` folder, and the task runs."""
    root = tmp_path / "sygra"
    _write(
        root,
        {
            "tasks/eval/grade/graph_config.yaml": EVAL_TASK,
            "tasks/eval/grade/items.jsonl": '{"id": "1", "answer": " Paris "}\n',
            "tasks/eval/grade/task_executor.py": """\
                from tasks.eval.shared import tidy


                class Check:
                    def apply(lambda_node_dict, state):
                        state["verdict"] = tidy(state["answer"]) == "paris"
                        return state
            """,
            "tasks/eval/shared.py": """\
                def tidy(text):
                    return text.strip().lower()
            """,
        },
    )
    dest = tmp_path / "out"
    code, report = _convert(root, dest)
    assert code == 0, report
    task = dest / "eval" / "grade"
    module = (task / "task_executor.py").read_text(encoding="utf-8")
    assert module.startswith("from _sygra_shared.eval.shared import tidy\n")
    assert (task / "_sygra_shared" / "eval" / "shared.py").is_file()
    assert main(["run", str(task), "--mock", "--overwrite"]) == 0
    assert _rows(task / "out.jsonl") == [{"id": "1", "answer": " Paris ", "verdict": True}]


SAMPLED = """\
graph_config:
  nodes:
    pick:
      node_type: weighted_sampler
      attributes:
        colour: {values: [red]}
    write:
      node_type: llm
      output_keys: poem
      prompt:
        - user: "A poem about {colour}"
      model:
        name: writer
        structured_output:
          schema: sygra.core.models.structured_output.schemas_factory.SimpleResponse
  edges:
    - {from: START, to: pick}
    - {from: pick, to: write}
    - {from: write, to: END}
output_config:
  output_map:
    colour: {from: colour}
    poem: {from: poem}
    text: {from: poem, required: true}
"""


def test_a_task_without_data_is_a_task_and_output_fields_stay_nullable(tmp_path: Path) -> None:
    """A folder without data_config that no task names as a subgraph is converted as a
    data-less task; its output fields get `required: false` (SyGra writes null for a missing
    key) unless they chose; SyGra's built-in SimpleResponse schema names the compat one."""
    root = tmp_path / "sygra"
    _write(root, {"tasks/examples/sampled/graph_config.yaml": SAMPLED})
    dest = tmp_path / "out"
    code, report = _convert(root, dest)
    assert code == 0, report
    assert "## Converted tasks\n\n- `examples/sampled`" in report
    assert "2 output_map field(s) now say `required: false`" in report
    text = (dest / "examples" / "sampled" / "task.yaml").read_text(encoding="utf-8")
    assert "schema: grasp_nodes.sygra_compat.SimpleResponse" in text
    assert "colour: {from: colour, required: false}" in text
    assert "text: {from: poem, required: true}" in text
    task = dest / "examples" / "sampled"
    assert main(["run", str(task), "--mock", "--overwrite", "--num-records", "1"]) == 0
    (row,) = _rows(task / "output" / "sampled.jsonl")
    assert row["colour"] == "red"
    assert set(row["poem"]) == {"message", "success"}


SCENARIOS = """\
data_config:
  resumable: false
graph_config:
  nodes:
    pick:
      node_type: weighted_sampler
      attributes:
        theme: {values: [refund]}
  edges:
    - {from: START, to: pick}
    - {from: pick, to: END}
graph_post_process:
  - processor: tasks.examples.scenarios.task_executor.Export
    params: {target_task: tasks.examples.consumer, target_filename: seeds.json}
"""

SCENARIOS_EXECUTOR = """\
import json

from sygra import DefaultTaskExecutor
from sygra.core.graph.graph_postprocessor import GraphPostProcessor
from sygra.utils import utils


class Export(GraphPostProcessor):
    def __init__(self, target_task, target_filename):
        self.target = utils.get_file_in_task_dir(target_task, target_filename)

    def process(self, data, metadata):
        with open(self.target, "w") as out:
            json.dump([row["theme"] for row in data], out)
        return data


class TaskExecutor(DefaultTaskExecutor):
    def init_dataset(self):
        return [{"id": "only"}]
"""


def test_resumable_executors_and_task_folder_files(tmp_path: Path) -> None:
    """`data_config.resumable` is left out with a note (every GraSP run resumes); a
    DefaultTaskExecutor subclass imports, and its init_dataset is the task's source (one
    record, as in SyGra); a processor writing into another task's folder by its dotted name
    finds that folder."""
    root = tmp_path / "sygra"
    _write(
        root,
        {
            "tasks/examples/scenarios/graph_config.yaml": SCENARIOS,
            "tasks/examples/scenarios/task_executor.py": SCENARIOS_EXECUTOR,
            "tasks/examples/consumer/readme.txt": "reads seeds.json\n",
        },
    )
    dest = tmp_path / "out"
    code, report = _convert(root, dest)
    assert code == 0, report
    assert "data_config.resumable left out" in report
    assert "TaskExecutor.init_dataset is now data_config.source" in report
    task = dest / "examples" / "scenarios"
    module = (task / "task_executor.py").read_text(encoding="utf-8")
    assert "from grasp_nodes.sygra_compat import DefaultTaskExecutor\n" in module
    assert "resumable" not in (task / "task.yaml").read_text(encoding="utf-8")
    assert main(["run", str(task), "--mock", "--overwrite", "--num-records", "2"]) == 0
    seeds = dest / "examples" / "consumer" / "seeds.json"
    assert json.loads(seeds.read_text(encoding="utf-8")) == ["refund"]


RECIPE_TASK = """\
data_config:
  source: {type: disk, file_path: prompts.jsonl}
graph_config:
  nodes:
    self_refine:
      node_type: subgraph
      subgraph: sygra.recipes.self_refinement  # SyGra's packaged recipe
      node_config_map:
        init_self_refine:
          params: {max_iterations: 1}
  edges:
    - {from: START, to: self_refine}
    - {from: self_refine, to: END}
"""


def test_sygras_recipes_are_written_as_grasps(tmp_path: Path) -> None:
    """`subgraph: sygra.recipes.self_refinement` is written as GraSP's recipe node (with
    SyGra's default model and the comment kept), listed in the report, and the task runs."""
    root = tmp_path / "sygra"
    _write(
        root,
        {
            "tasks/examples/refine/graph_config.yaml": RECIPE_TASK,
            "tasks/examples/refine/prompts.jsonl": '{"id": "1", "prompt": "Name a fruit"}\n',
        },
    )
    dest = tmp_path / "out"
    code, report = _convert(root, dest)
    assert code == 0, report
    task = dest / "examples" / "refine"
    text = (task / "task.yaml").read_text(encoding="utf-8")
    assert "graph: grasp_nodes.recipes.self_refinement # SyGra's packaged recipe" in text
    assert "model:\n        name: gpt-4o-mini" in text
    assert "subgraph:" not in text
    assert "SyGra's recipe 'sygra.recipes.self_refinement' is GraSP's" in report
    assert main(["run", str(task), "--mock", "--overwrite"]) == 0
    (row,) = _rows(task / "output" / "refine.jsonl")
    assert len(row["reflection_trajectory"]) == 1


INPUT_KEY_TASK = """\
data_config:
  source: {type: disk, file_path: tickets.jsonl}
graph_config:
  nodes:
    triage:
      node_type: llm
      input_key: followups  # SyGra appends these messages after the prompt
      output_keys: verdict
      prompt:
        - user: "Ticket: {ticket}"
      model: {name: claude_large}
  edges:
    - {from: START, to: triage}
    - {from: triage, to: END}
"""

PROXY_MODELS = """\
claude_large:
  model_type: claude_proxy
  client_type: http
  parameters: {maxTokens: 100}
"""


def test_input_key_and_a_proxy_model_convert_and_run_with_mock(tmp_path: Path) -> None:
    """`input_key` becomes `append_messages` (comment kept); a `claude_proxy` entry stays in
    models.yaml and is listed in the report; the converted task runs with --mock."""
    root = tmp_path / "sygra"
    _write(
        root,
        {
            "tasks/examples/triage/graph_config.yaml": INPUT_KEY_TASK,
            "tasks/examples/triage/tickets.jsonl": '{"id": "t1", "ticket": "vpn", '
            '"followups": ["since monday"]}\n',
            "models.yaml": PROXY_MODELS,
        },
    )
    dest = tmp_path / "out"
    args = ["convert", "sygra", str(root / "tasks"), str(dest), "--models"]
    assert main([*args, str(root / "models.yaml")]) == 1  # the proxy entry is listed
    report = (dest / "CONVERT_REPORT.md").read_text(encoding="utf-8")
    assert "SyGra model 'claude_large': model_type 'claude_proxy' is SyGra's in-house" in report
    assert "or run with --mock; kept in models.yaml" in report
    task = dest / "examples" / "triage"
    text = (task / "task.yaml").read_text(encoding="utf-8")
    assert "append_messages: followups # SyGra appends these messages after the prompt" in text
    assert "input_key" not in text
    assert "claude_large:" in (task / "models.yaml").read_text(encoding="utf-8")
    assert main(["run", str(task), "--mock", "--overwrite"]) == 0
    (row,) = _rows(task / "output" / "triage.jsonl")
    assert row["verdict"] == "since monday"
