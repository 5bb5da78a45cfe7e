"""Task-file and models-file errors: each names the file, the line, the YAML path and a fix."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio
import pytest

from grasp_core import BuildEnv, ConfigError, ModelCatalog, RunOptions, Task, run_task
from grasp_core.graph.compile import compile_graph
from grasp_core.models.backends import BackendPool
from grasp_core.models.catalog import MODELS_ENV_VAR, find_models_file
from grasp_core.observe.metrics import RunMetrics
from tests.conftest import write_task

GOOD = """\
graph_config:
  nodes:
    gen:
      node_type: lambda
      lambda: steps.double
      output_keys: x
  edges:
    - from: START
      to: gen
    - from: gen
      to: END
"""

STEPS = """\
def double(state):
    return state.get("n", 0) * 2
"""


@pytest.fixture(autouse=True)
def _restore_import_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dotted paths put task folders on sys.path; undo that after each test."""
    monkeypatch.setattr(sys, "path", [*sys.path])


def line_of(path: Path, needle: str) -> int:
    """1-based number of the first line of ``path`` that contains ``needle``."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def compile_file(task_path: Path) -> None:
    """Load and compile a task as ``grasp validate`` does (any model name is accepted)."""
    task = Task.load(task_path)
    catalog = ModelCatalog(mock_url="-")

    async def build() -> None:
        env = BuildEnv(task.task_dir, catalog, BackendPool(catalog), RunMetrics(), task.data)
        compile_graph(task.config.graph_config, env, document=task.document)

    anyio.run(build)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize(
    ("good", "typo", "yaml_path", "suggestion"),
    [
        ("      to: END", "      too: END", "graph_config.edges[1].too", "'to'"),
        (
            "  edges:",
            "  recursion_limt: 5\n  edges:",
            "graph_config.recursion_limt",
            "'recursion_limit'",
        ),
        (
            "      output_keys: x",
            "      output_key: x",
            "graph_config.nodes.gen.output_key",
            "'output_keys'",
        ),
    ],
)
def test_key_typo_names_file_line_path_and_nearest_key(
    tmp_path: Path, good: str, typo: str, yaml_path: str, suggestion: str
) -> None:
    """A misspelt key is reported at its file:line and YAML path with the nearest valid key."""
    task = write_task(tmp_path, GOOD.replace(good, typo), {"steps.py": STEPS})
    bad_key = yaml_path.rsplit(".", 1)[-1].split("[")[0]
    with pytest.raises(ConfigError, match=f"unknown key '{bad_key}'") as info:
        compile_file(task)
    message = str(info.value)
    assert f"{task}:{line_of(task, bad_key + ':')}: {yaml_path}" in message
    assert f"did you mean {suggestion}?" in message


def test_node_type_typo_names_the_bad_key_and_suggests_node_type(tmp_path: Path) -> None:
    """A misspelt `node_typ` is reported at its own line with `node_type` suggested."""
    task = write_task(tmp_path, GOOD.replace("node_type:", "node_typ:"), {"steps.py": STEPS})
    with pytest.raises(ConfigError, match="node_typ") as info:
        compile_file(task)
    message = str(info.value)
    assert f"{task}:{line_of(task, 'node_typ:')}: graph_config.nodes.gen.node_typ" in message
    assert "did you mean 'node_type'?" in message


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    """Broken YAML is a ConfigError at file:line of the problem, not a ruamel traceback."""
    task = write_task(tmp_path, GOOD.replace("    gen:\n", "    gen: node_type: x\n"))
    with pytest.raises(ConfigError, match="mapping values are not allowed") as info:
        Task.load(task)
    assert str(info.value).startswith(f"{task}:{line_of(task, 'gen: node_type')}:")
    assert info.value.__cause__ is not None


def test_missing_graph_config_is_reported(tmp_path: Path) -> None:
    """A task without `graph_config` says the required key is missing."""
    task = write_task(tmp_path, "data_config:\n  num_records: 3\n")
    with pytest.raises(ConfigError, match="graph_config: required key is missing") as info:
        Task.load(task)
    assert str(info.value).startswith(f"{task}:1: ")


def test_edge_with_both_to_and_condition_is_refused(tmp_path: Path) -> None:
    """An edge is simple (`to`) or conditional (`condition`), never both."""
    text = GOOD.replace(
        "      to: END", "      to: END\n      condition: steps.double\n      path_map: {a: END}"
    )
    task = write_task(tmp_path, text)
    with pytest.raises(ConfigError, match="either `to` or `condition`, not both") as info:
        Task.load(task)
    assert f"{task}:{line_of(task, '- from: gen')}: graph_config.edges[1]" in str(info.value)


def test_conditional_edge_needs_a_path_map(tmp_path: Path) -> None:
    """A `condition` without `path_map` is refused with a hint at the label: node form."""
    task = write_task(tmp_path, GOOD.replace("      to: END", "      condition: steps.double"))
    with pytest.raises(ConfigError, match="needs a non-empty `path_map`") as info:
        Task.load(task)
    assert f"{task}:{line_of(task, '- from: gen')}: graph_config.edges[1]" in str(info.value)


@pytest.mark.parametrize("reserved", ["START", "END"])
def test_start_and_end_are_not_node_names(tmp_path: Path, reserved: str) -> None:
    """START and END are implicit; a node with either name is refused."""
    task = write_task(tmp_path, GOOD.replace("    gen:", f"    {reserved}:"))
    with pytest.raises(ConfigError, match=f"'{reserved}' is implicit") as info:
        Task.load(task)
    assert f"{task}:{line_of(task, 'nodes:')}: graph_config.nodes" in str(info.value)


def test_models_file_refuses_api_keys(tmp_path: Path) -> None:
    """An `api_key` in the models file is refused without echoing it; use `api_key_env`."""
    models = tmp_path / "models.yaml"
    models.write_text("m:\n  model: openai/m\n  api_key: sk-very-secret\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="API keys never go in the models file") as info:
        ModelCatalog.load(models)
    message = str(info.value)
    assert f"{models}:3: m.api_key" in message
    assert "api_key_env" in message
    assert "sk-very-secret" not in message


def test_unknown_model_name_lists_known_models(tmp_path: Path) -> None:
    """Asking for a model the file lacks names the file and every model it does have."""
    models = tmp_path / "models.yaml"
    models.write_text("beta:\n  model: openai/b\nalpha:\n  model: openai/a\n", encoding="utf-8")
    catalog = ModelCatalog.load(models)
    with pytest.raises(ConfigError, match="model 'gamma' is not in the models file") as info:
        catalog.get("gamma")
    assert str(models) in str(info.value)
    assert "known models: alpha, beta" in str(info.value)


def test_unknown_model_in_a_task_fails_the_run_before_any_record(tmp_path: Path) -> None:
    """An llm node naming a model missing from models.yaml fails at build, at the node's line."""
    text = """\
    data_config:
      num_records: 2
    graph_config:
      nodes:
        ask:
          node_type: llm
          prompt:
            - user: hello
          model: {name: gamma}
      edges:
        - {from: START, to: ask}
        - {from: ask, to: END}
    """
    task = write_task(tmp_path, text, {"models.yaml": "alpha:\n  model: openai/a\n"})
    with pytest.raises(ConfigError, match="model 'gamma' is not in the models file") as info:
        run_task(task, RunOptions(output_dir=tmp_path / "out"))
    assert f"{task}:{line_of(task, 'ask:')}: graph_config.nodes.ask" in str(info.value)
    assert "known models: alpha" in str(info.value)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.jsonl"))


def test_model_route_needs_a_provider_prefix(tmp_path: Path) -> None:
    """A route without `provider/` is refused with prefixed spellings to copy."""
    models = tmp_path / "models.yaml"
    models.write_text("m:\n  max_concurrency: 2\n  model: gpt-4o\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="needs a provider prefix") as info:
        ModelCatalog.load(models)
    assert f"{models}:3: m.model" in str(info.value)
    assert "'openai/gpt-4o'" in str(info.value)


def test_unset_api_key_env_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model whose `api_key_env` variable is unset fails with that variable's name."""
    monkeypatch.delenv("GRASP_TEST_MISSING_KEY", raising=False)
    models = tmp_path / "models.yaml"
    models.write_text(
        "m:\n  model: openai/m\n  api_key_env: GRASP_TEST_MISSING_KEY\n", encoding="utf-8"
    )
    catalog = ModelCatalog.load(models)
    with pytest.raises(ConfigError, match=r"'GRASP_TEST_MISSING_KEY'.* is not set"):
        catalog.api_key("m")
    monkeypatch.setenv("GRASP_TEST_MISSING_KEY", "k-123")
    assert catalog.api_key("m") == "k-123"


def test_models_file_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The models file is the explicit path, else $GRASP_MODELS, else models.yaml by the task."""
    task_dir = tmp_path / "task"
    task_dir.mkdir()
    beside = task_dir / "models.yaml"
    from_env = tmp_path / "env-models.yaml"
    explicit = tmp_path / "explicit-models.yaml"
    for path in (beside, from_env, explicit):
        path.write_text(f"{path.stem.replace('-', '_')}:\n  model: openai/x\n", encoding="utf-8")
    monkeypatch.setenv(MODELS_ENV_VAR, str(from_env))

    assert find_models_file(explicit, task_dir) == explicit
    assert find_models_file(None, task_dir) == from_env
    monkeypatch.delenv(MODELS_ENV_VAR)
    assert find_models_file(None, task_dir) == beside
    assert set(ModelCatalog.load(beside).specs) == {"models"}
    beside.unlink()
    assert find_models_file(None, task_dir) is None


def test_models_file_paths_that_do_not_exist_are_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A missing explicit or $GRASP_MODELS file is an error, not a silent fallback."""
    (tmp_path / "models.yaml").write_text("m:\n  model: openai/m\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="does not exist"):
        find_models_file(tmp_path / "nope.yaml", tmp_path)
    monkeypatch.setenv(MODELS_ENV_VAR, str(tmp_path / "gone.yaml"))
    with pytest.raises(ConfigError, match=f"{MODELS_ENV_VAR}=.*gone.yaml"):
        find_models_file(None, tmp_path)


RELATIVE = """\
data_config:
  source: {type: disk, file_path: data/in.jsonl}
  sink: {type: jsonl, file_path: out/result.jsonl}
graph_config:
  nodes:
    gen: {node_type: lambda, lambda: steps.double, output_keys: x}
  edges:
    - {from: START, to: gen}
    - {from: gen, to: END}
"""


def test_relative_source_and_sink_paths_resolve_against_the_task_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Relative `file_path`s are read and written beside the task file, whatever the cwd."""
    folder = tmp_path / "task"
    rows = "".join(json.dumps({"id": f"r{i}", "n": i}) + "\n" for i in range(3))
    task = write_task(folder, RELATIVE, {"data/in.jsonl": rows, "steps.py": STEPS})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    result = run_task(task, RunOptions())

    assert result.output_paths == [folder / "out" / "result.jsonl"]
    records = read_jsonl(folder / "out" / "result.jsonl")
    assert sorted((r["id"], r["x"]) for r in records) == [("r0", 0), ("r1", 2), ("r2", 4)]
    assert not any(elsewhere.iterdir())


def test_output_dir_moves_relative_sinks_but_not_sources(tmp_path: Path) -> None:
    """With an output dir, relative sinks go there while sources stay beside the task."""
    folder = tmp_path / "task"
    rows = json.dumps({"id": "r0", "n": 5}) + "\n"
    task = write_task(folder, RELATIVE, {"data/in.jsonl": rows, "steps.py": STEPS})

    result = run_task(task, RunOptions(output_dir=tmp_path / "runs"))

    assert result.output_paths == [tmp_path / "runs" / "out" / "result.jsonl"]
    assert read_jsonl(result.output_paths[0]) == [{"id": "r0", "n": 5, "x": 10}]
    assert not (folder / "out").exists()


def test_from_dict_takes_python_callables_for_dotted_paths(tmp_path: Path) -> None:
    """`Task.from_dict` accepts functions where YAML would hold dotted paths."""
    seen: list[str] = []

    def number(state: Mapping[str, Any]) -> int:
        return 7

    def route(state: Mapping[str, Any]) -> str:
        seen.append("routed")
        return "done" if state["x"] == 7 else "again"

    task = Task.from_dict(
        {
            "data_config": {"num_records": 2},
            "graph_config": {
                "nodes": {"gen": {"node_type": "lambda", "lambda": number, "output_keys": "x"}},
                "edges": [
                    {"from": "START", "to": "gen"},
                    {
                        "from": "gen",
                        "condition": route,
                        "path_map": {"done": "END", "again": "gen"},
                    },
                ],
            },
        },
        task_dir=tmp_path,
    )
    result = run_task(task, RunOptions(output_dir=tmp_path))
    assert (result.done, result.failed) == (2, 0)
    assert sorted(r["x"] for r in result.records()) == [7, 7]
    assert seen == ["routed", "routed"]


VALIDATOR_TASK = """\
data_config:
  num_records: 1
graph_config:
  nodes:
    check: {node_type: lambda, lambda: validators.code.check, output_keys: verdict}
  edges:
    - {from: START, to: check}
    - {from: check, to: END}
"""


def test_dotted_paths_resolve_against_each_tasks_own_folder(tmp_path: Path) -> None:
    """Two tasks with a same-named `validators.code.check` each run their own function."""
    tasks = {}
    for name in ("first", "second"):
        tasks[name] = write_task(
            tmp_path / name,
            VALIDATOR_TASK,
            {
                "validators/__init__.py": "",
                "validators/code.py": f"def check(state):\n    return {name!r}\n",
            },
        )
    verdicts = []
    for name in ("first", "second", "first"):
        result = run_task(tasks[name], RunOptions(output_dir=tmp_path / "out", overwrite=True))
        verdicts.append([r["verdict"] for r in result.records()])
    assert verdicts == [["first"], ["second"], ["first"]]


@pytest.mark.parametrize(
    "text",
    [
        'graph_config: !!python/object/apply:os.system ["echo pwned"]\n',
        "graph_config:\n  nodes: !!python/name:os.system\n",
        "graph_config:\n  recursion_limit: !custom 3\n",
    ],
)
def test_yaml_tags_that_would_build_objects_are_refused(tmp_path: Path, text: str) -> None:
    """Task files are plain data: a tag such as !!python/... is an error naming file and line."""
    path = tmp_path / "task.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"task\.yaml:\d+: .*the YAML tag .* is not allowed"):
        Task.load(path)
