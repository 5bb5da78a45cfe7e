"""``grasp convert sygra`` on task folders written here in SyGra's shape whose data is not a
plain file of the tree: a data file a script of the task writes before the run (named from
SyGra's root), and a dataset a ``BaseTaskExecutor`` subclass builds in code."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from grasp_core.cli.app import main


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


def _rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


PARAPHRASE = """\
data_config:
  source:
    type: disk
    file_path: tasks/examples/paraphrase/rows_made_by_prepare.jsonl
graph_config:
  nodes:
    reword:
      node_type: llm
      pre_process: tasks.examples.paraphrase.task_executor.Shorten
      post_process: tasks.examples.paraphrase.task_executor.ReadVariants
      output_keys: [plain, casual, status]
      prompt:
        - user: |
            Reword this request: {short}
            Answer in JSON: {{"plain": "<plain wording>", "casual": "<casual wording>"}}
      model: {name: writer}
  edges:
    - {from: START, to: reword}
    - {from: reword, to: END}
output_config:
  output_map:
    id: {from: id}
    plain: {from: plain}
    casual: {from: casual}
    status: {from: status}
"""

PARAPHRASE_HOOKS = """\
import json

from sygra.core.graph.functions.node_processor import NodePostProcessorWithState, NodePreProcessor


class Shorten(NodePreProcessor):
    def apply(self, state):
        state["short"] = state["request"][:40]
        return state


class ReadVariants(NodePostProcessorWithState):
    def apply(self, response, state):
        try:
            parsed = json.loads(response.message.content)
        except ValueError:
            parsed = {}
        state["plain"] = parsed.get("plain", state["request"])
        state["casual"] = parsed.get("casual", state["request"])
        state["status"] = "OK" if parsed else "FAILED"
        return state
"""


def test_a_data_file_a_script_writes_is_named_from_the_task_folder(tmp_path: Path) -> None:
    """A source file named from SyGra's root inside the task's own folder, which is not there
    (a script of the task writes it), is named from the task's folder with a note saying so;
    once written, the task runs with --mock, its SyGra-style hooks parsing the JSON reply."""
    root = tmp_path / "sygra"
    _write(
        root,
        {
            "tasks/examples/paraphrase/graph_config.yaml": PARAPHRASE,
            "tasks/examples/paraphrase/task_executor.py": PARAPHRASE_HOOKS,
        },
    )
    dest = tmp_path / "out"
    main(["convert", "sygra", str(root / "tasks"), str(dest)])
    report = (dest / "CONVERT_REPORT.md").read_text(encoding="utf-8")
    task = dest / "examples" / "paraphrase"
    assert "file_path: rows_made_by_prepare.jsonl" in (task / "task.yaml").read_text("utf-8")
    assert (
        "is now 'rows_made_by_prepare.jsonl' (from the task's folder): the file is not in the "
        "source tree; make it there before the run" in report
    )
    (task / "rows_made_by_prepare.jsonl").write_text(
        '{"id": "r1", "request": "Reset the router in room 4"}\n', encoding="utf-8"
    )
    assert main(["run", str(task), "--mock", "--overwrite"]) == 0
    (row,) = _rows(task / "output" / "paraphrase.jsonl")
    assert row["id"] == "r1"
    assert row["status"] == "OK"  # the mock answers the prompt's JSON template in its shape
    assert isinstance(row["plain"], str)
    assert row["plain"] != "Reset the router in room 4"


SPOKEN = """\
data_config:
  source:
    type: disk
    file_path: /home/someone/SyGra/tasks/examples/spoken/lines.json  # the author's machine
graph_config:
  nodes:
    say:
      output_keys: audio
      node_type: llm
      prompt:
        - user: "{line}"
      model:
        name: talker
        output_type: audio
        parameters:
          audio: {voice: nova, format: mp3}
    hear:
      output_keys: heard
      node_type: llm
      prompt:
        - user:
            - type: text
              text: "Transcribe this."
            - type: audio_url
              audio_url: "{audio}"
      model: {name: talker}
  edges:
    - {from: START, to: say}
    - {from: say, to: hear}
    - {from: hear, to: END}
output_config:
  output_map:
    id: {from: id}
    audio: {from: audio}
    heard: {from: heard}
"""


def test_an_absolute_path_to_the_tasks_folder_and_mp3_speech(tmp_path: Path) -> None:
    """An absolute data path from the author's machine that ends in the task's own folder is
    named from it (the file is a local stand-in here); `output_type: audio` with one output
    key holds the audio file (SyGra's meaning), in the mp3 asked for, which decodes and
    feeds the next node's `audio_url`."""
    import soundfile

    root = tmp_path / "sygra"
    _write(root, {"tasks/examples/spoken/graph_config.yaml": SPOKEN})
    dest = tmp_path / "out"
    main(["convert", "sygra", str(root / "tasks"), str(dest)])
    task = dest / "examples" / "spoken"
    assert "file_path: lines.json" in (task / "task.yaml").read_text(encoding="utf-8")
    (task / "lines.json").write_text('[{"id": "1", "line": "Hello there"}]', encoding="utf-8")
    (task / "models.yaml").write_text("talker: {model: openai/gpt-audio}\n", encoding="utf-8")
    assert main(["run", str(task), "--mock", "--overwrite"]) == 0
    (row,) = _rows(task / "output" / "spoken.jsonl")
    audio = row["audio"]
    assert isinstance(audio, dict)
    assert audio["type"] == "audio/mpeg"
    samples, rate = soundfile.read(task / "output" / str(audio["path"]))
    assert rate == 48_000
    assert len(samples) > 0
    assert row["heard"] == "Transcribe this. [1 audio]"


PUZZLES = """\
graph_config:
  nodes:
    solve:
      node_type: llm
      output_keys: answer
      prompt:
        - user: "Solve: {puzzle}"
      model: {name: solver}
  edges:
    - {from: START, to: solve}
    - {from: solve, to: END}
"""

PUZZLES_EXECUTOR = """\
from sygra.core.base_task_executor import BaseTaskExecutor


class TaskExecutor(BaseTaskExecutor):
    def init_dataset(self):
        # built in code, as SyGra tasks do with load_dataset(...)
        return [{"id": n, "puzzle": f"{n} + {n}"} for n in (1, 2, 3)]

    def input_record_generator(self, record):
        record["puzzle"] = record["puzzle"] + " = ?"
        return record

    def output_record_generator(self, state):
        if state["id"] == 2:
            return None  # SyGra drops the record
        return {"id": state["id"], "pair": [state["puzzle"], state["answer"]]}

    def execute(self):
        super().execute()
"""


def test_a_task_executors_record_hooks_become_task_file_keys(tmp_path: Path) -> None:
    """A TaskExecutor's init_dataset becomes a `python` source, input_record_generator its
    last transform and output_record_generator the output generator (None drops the record),
    each noted; an override GraSP never calls (execute) is listed; the task runs with --mock."""
    root = tmp_path / "sygra"
    _write(
        root,
        {
            "tasks/examples/puzzles/graph_config.yaml": PUZZLES,
            "tasks/examples/puzzles/task_executor.py": PUZZLES_EXECUTOR,
        },
    )
    dest = tmp_path / "out"
    assert main(["convert", "sygra", str(root / "tasks"), str(dest)]) == 1  # execute listed
    report = (dest / "CONVERT_REPORT.md").read_text(encoding="utf-8")
    assert "## Converted tasks\n\n- `examples/puzzles`" in report
    assert "TaskExecutor.init_dataset is now data_config.source (`type: python`)" in report
    assert "TaskExecutor.input_record_generator is now the source's last transform" in report
    assert "TaskExecutor.output_record_generator is now output_config.generator" in report
    assert "puzzles/task_executor.py:4: TaskExecutor.execute is not converted" in report
    task = dest / "examples" / "puzzles"
    text = (task / "task.yaml").read_text(encoding="utf-8")
    assert "function: task_executor.TaskExecutor.init_dataset" in text
    assert "generator: task_executor.TaskExecutor" in text
    assert main(["run", str(task), "--mock", "--overwrite"]) == 0
    rows = sorted(_rows(task / "output" / "puzzles.jsonl"), key=lambda row: str(row["id"]))
    assert rows == [
        {"id": 1, "pair": ["1 + 1 = ?", "Solve: 1 + 1 = ?"]},
        {"id": 3, "pair": ["3 + 3 = ?", "Solve: 3 + 3 = ?"]},
    ]
