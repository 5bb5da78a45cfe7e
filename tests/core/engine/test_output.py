"""Output generators: `generate(state)` builds or drops records, `transform` rewrites fields."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from grasp_core import RunOptions, run_task
from grasp_core.config import OutputConfig
from grasp_core.engine.output import OutputShaper
from grasp_core.errors import ConfigError, RecordError
from tests.conftest import write_task

GENERATORS = '''
class KeepEven:
    """Drops records with an odd n; writes the rest in its own shape."""

    def generate(self, state):
        if state["n"] % 2:
            return None
        return {"id": state["id"], "half": state["n"] // 2}


class Shout:
    def upper(self, value):
        return value.upper()

    def build_conversation(self, value, state):
        reply = {"role": "assistant", "content": state["reply"]}
        return [{"role": "user", "content": value}, reply]


class Broken:
    def generate(self, state):
        raise KeyError("missing_key")


class NotARecord:
    def generate(self, state):
        return ["not", "a", "dict"]


class Exits:
    def generate(self, state):
        if state["n"] == 1:
            raise SystemExit(3)
        return {"id": state["id"]}


class ExitingTransform:
    def shout(self, value):
        if value == "hello 1":
            raise SystemExit(3)
        return value.upper()
'''

STEPS = "def reply(state):\n    return f\"re: {state['text']}\"\n"

TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/out.jsonl}
graph_config:
  nodes:
    answer: {node_type: lambda, lambda: gen_steps.reply, output_keys: reply}
  edges:
    - {from: START, to: answer}
    - {from: answer, to: END}
output_config:
"""


def make_task(folder: Path, output_config: str) -> Path:
    rows = [{"id": f"r{n}", "n": n, "text": f"hello {n}"} for n in range(4)]
    return write_task(
        folder,
        TASK + output_config,
        {
            "data.jsonl": "".join(json.dumps(r) + "\n" for r in rows),
            "gen_steps.py": STEPS,
            "my_generators.py": GENERATORS,
        },
    )


def written(result: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.output_paths[0].read_text().splitlines()]


def test_generate_returning_none_drops_the_record_as_filtered(tmp_path: Path) -> None:
    """Dropped records are counted as filtered, not failed, and never reach the sink."""
    task = make_task(tmp_path, "  generator: my_generators.KeepEven\n")
    result = run_task(task, RunOptions())
    assert (result.done, result.filtered, result.failed) == (2, 2, 0)
    assert sorted(written(result), key=lambda r: r["id"]) == [
        {"id": "r0", "half": 0},
        {"id": "r2", "half": 1},
    ]
    assert result.failures_path.read_text() == ""
    assert result.ok


def test_transform_calls_the_generator_method_with_value_and_optionally_state(
    tmp_path: Path,
) -> None:
    """`transform: name` calls `name(value)` or `name(value, state)` on the generator class."""
    task = make_task(
        tmp_path,
        """\
  generator: my_generators.Shout
  output_map:
    id: {from: id}
    loud: {from: text, transform: upper}
    conversation: {from: text, transform: build_conversation}
""",
    )
    result = run_task(task, RunOptions())
    rows = {r["id"]: r for r in written(result)}
    assert rows["r1"] == {
        "id": "r1",
        "loud": "HELLO 1",
        "conversation": [
            {"role": "user", "content": "hello 1"},
            {"role": "assistant", "content": "re: hello 1"},
        ],
    }


def test_dollar_paths_resolve_inside_nested_values_and_lists(tmp_path: Path) -> None:
    """A `$`-path at any depth of a constant value is replaced by that part of the task file."""
    task = make_task(
        tmp_path,
        """\
  output_map:
    id: {from: id}
    meta:
      value:
        source: $data_config.source.file_path
        tags: [fixed, $data_config.sink.type, {nested: $graph_config.nodes.answer.lambda}]
""",
    )
    result = run_task(task, RunOptions())
    meta = written(result)[0]["meta"]
    assert meta == {
        "source": "data.jsonl",
        "tags": ["fixed", "jsonl", {"nested": "gen_steps.reply"}],
    }


def test_an_unknown_dollar_path_is_a_config_error_naming_the_field(tmp_path: Path) -> None:
    """A `$`-path to nothing fails before any record runs, naming the output field."""
    task = make_task(
        tmp_path,
        "  output_map:\n    meta: {value: [$data_config.nothing_here]}\n",
    )
    with pytest.raises(ConfigError, match=r"output_map\.meta\[0\].*nothing_here"):
        run_task(task, RunOptions())


def test_a_raising_generator_fails_the_record_with_its_error(tmp_path: Path) -> None:
    """An exception in `generate` fails that record (counted, with the reason), not the run."""
    task = make_task(tmp_path, "  generator: my_generators.Broken\n")
    result = run_task(task, RunOptions())
    assert (result.done, result.failed) == (0, 4)
    failure = json.loads(result.failures_path.read_text().splitlines()[0])
    assert "generate" in failure["reason"]
    assert "KeyError" in failure["reason"]
    assert failure["error"] == "NodeError"


@pytest.mark.parametrize(
    "output_config",
    [
        "  generator: my_generators.Exits\n",
        "  generator: my_generators.ExitingTransform\n  output_map:\n"
        "    id: {from: id}\n    loud: {from: text, transform: shout}\n",
    ],
    ids=["generate", "transform"],
)
def test_sys_exit_in_a_generator_fails_only_that_record(tmp_path: Path, output_config: str) -> None:
    """sys.exit() in `generate` or a `transform` method fails its record with the reason;
    the run goes on and writes every other record."""
    result = run_task(make_task(tmp_path, output_config), RunOptions())
    assert (result.done, result.failed) == (3, 1)
    assert sorted(r["id"] for r in written(result)) == ["r0", "r2", "r3"]
    failure = json.loads(result.failures_path.read_text().splitlines()[0])
    assert failure["id"] == "r1"
    assert "raised SystemExit: 3" in failure["reason"]


def test_a_generator_returning_a_non_dict_fails_the_record(tmp_path: Path) -> None:
    """`generate` must return a dict or None; anything else is a clear record failure."""
    task = make_task(tmp_path, "  generator: my_generators.NotARecord\n")
    result = run_task(task, RunOptions())
    assert result.failed == 4
    failure = json.loads(result.failures_path.read_text().splitlines()[0])
    assert "must return a dict or None" in failure["reason"]


def test_generate_and_output_map_together_is_a_config_error(tmp_path: Path) -> None:
    """`generate` builds the whole record, so an `output_map` beside it would be ignored."""
    (tmp_path / "my_generators.py").write_text(GENERATORS, encoding="utf-8")
    config = OutputConfig.model_validate(
        {"generator": "my_generators.KeepEven", "output_map": {"id": {"from": "id"}}}
    )
    with pytest.raises(ConfigError, match="generate"):
        OutputShaper(config, task_data={}, task_dir=tmp_path)


def test_transform_without_generator_or_method_is_a_config_error(tmp_path: Path) -> None:
    """A transform needs a generator class that has the named method."""
    (tmp_path / "my_generators.py").write_text(GENERATORS, encoding="utf-8")
    no_class = OutputConfig.model_validate({"output_map": {"x": {"from": "a", "transform": "up"}}})
    with pytest.raises(ConfigError, match=r"needs output_config\.generator"):
        OutputShaper(no_class, task_data={}, task_dir=tmp_path)
    no_method = OutputConfig.model_validate(
        {"generator": "my_generators.Shout", "output_map": {"x": {"from": "a", "transform": "up"}}}
    )
    with pytest.raises(ConfigError, match="no method 'up'"):
        OutputShaper(no_method, task_data={}, task_dir=tmp_path)


def test_a_missing_from_key_fails_the_record() -> None:
    """`from` naming a key the state lacks is a record error listing the keys it has."""
    config = OutputConfig.model_validate({"output_map": {"x": {"from": "nope"}}})
    shaper = OutputShaper(config, task_data={}, task_dir=None)
    with pytest.raises(RecordError, match="no key 'nope'"):
        shaper.shape("r1", {"a": 1})
