"""Source assembly from the task file: transforms by name, SyGra name, dotted path or entry
point; errors that name file and line; start/num_records after transforms; shards."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from grasp_core import RunOptions, registry, run_task
from grasp_core.config.task_file import Task
from grasp_core.errors import ConfigError, PluginError
from grasp_core.protocols import Source, SourceItem
from grasp_core.sourcing import RoundRobinShard, build_source
from tests.conftest import write_task


def rows(n: int) -> str:
    return "".join(
        json.dumps({"id": f"r{i}", "q": f"question {i}", "n": i}) + "\n" for i in range(n)
    )


def task_with(folder: Path, source_yaml: str, files: dict[str, str] | None = None) -> Task:
    """A task whose data_config.source is ``source_yaml`` (indented under `source:`)."""
    body = textwrap.indent(textwrap.dedent(source_yaml).strip(), "    ")
    text = f"""
data_config:
  source:
{body}
graph_config:
  nodes:
    copy: {{node_type: lambda, lambda: steps.copy, output_keys: copied}}
  edges:
    - {{from: START, to: copy}}
    - {{from: copy, to: END}}
"""
    steps = {"steps.py": "def copy(state):\n    return state.get('question')\n"}
    return Task.load(write_task(folder, text, {"data.jsonl": rows(10), **steps, **(files or {})}))


def source_of(task: Task, seed: int = 0) -> Source:
    return build_source(
        task.config.data_config, task_dir=task.task_dir, document=task.document, seed=seed
    )


def ids(source: Source, start: int = 0, limit: int | None = None) -> list[str]:
    return [item.record_id for item in source.iter_records(start=start, limit=limit)]


def test_transforms_apply_in_order_by_name_and_sygra_name(tmp_path: Path) -> None:
    """Snake-case names, SyGra class names and SyGra's dotted paths all select transforms."""
    task = task_with(
        tmp_path,
        """
        type: disk
        file_path: data.jsonl
        transformations:
          - {transform: RenameFieldsTransform, params: {mapping: {q: question}}}
          - transform: sygra.processors.data_transform.SkipRecords
            params: {skip_type: count, count: {from_start: 2, from_end: 1}}
          - {transform: fields, params: {keep: [question]}}
          - {transform: add_new_field, params: {mapping: {lang: en}}}
        """,
    )
    items = list(source_of(task).iter_records())
    assert [item.record_id for item in items] == [f"r{i}" for i in range(2, 9)]
    assert items[0].data == {"question": "question 2", "lang": "en"}


def test_start_and_num_records_count_transformed_records(tmp_path: Path) -> None:
    """start_index and num_records apply after transforms, in a real run too."""
    task = task_with(
        tmp_path,
        """
        type: disk
        file_path: data.jsonl
        transformations:
          - {transform: skip_records, params: {range: "[:3]"}}
          - {transform: rename_fields, params: {mapping: {q: question}}}
        """,
    )
    assert ids(source_of(task), start=2, limit=3) == ["r5", "r6", "r7"]
    result = run_task(task, RunOptions(start_index=2, num_records=3))
    assert result.done == 3
    out = sorted(result.records(), key=lambda r: str(r["id"]))  # sinks keep finishing order
    assert [(r["id"], r["copied"]) for r in out] == [
        ("r5", "question 5"),
        ("r6", "question 6"),
        ("r7", "question 7"),
    ]


def test_shuffle_and_sample_use_the_run_seed(tmp_path: Path) -> None:
    """Without their own seed, shuffle and sample follow the run's seed."""
    task = task_with(
        tmp_path,
        """
        type: disk
        file_path: data.jsonl
        transformations:
          - {transform: shuffle, params: {buffer_size: 4}}
          - {transform: sample, params: {n: 6}}
        """,
    )
    first = ids(source_of(task, seed=1))
    assert len(first) == 6
    assert ids(source_of(task, seed=1)) == first
    assert {tuple(ids(source_of(task, seed=s))) for s in range(2, 6)} != {tuple(first)}


def test_unknown_transform_names_the_line_and_lists_known_ones(tmp_path: Path) -> None:
    """A misspelt transform is a config error with file, line, YAML path, a suggestion and
    every known name."""
    task = task_with(
        tmp_path,
        """
        type: disk
        file_path: data.jsonl
        transformations:
          - {transform: rename_fields, params: {mapping: {}}}
          - {transform: shufle}
        """,
    )
    with pytest.raises(PluginError) as caught:
        source_of(task)
    message = str(caught.value)
    assert "task.yaml:8: data_config.source.transformations[1].transform" in message
    assert "unknown transform 'shufle' (did you mean 'shuffle'?)" in message
    assert "combine_records, fields, filter, rename_fields, sample, shuffle" in message
    assert "grasp.transforms" in message


def test_bad_transform_params_name_the_param(tmp_path: Path) -> None:
    """A wrong params key is reported at its own YAML path and line, with a suggestion."""
    task = task_with(
        tmp_path,
        """
        type: disk
        file_path: data.jsonl
        transformations:
          - transform: rename_fields
            params:
              mappings: {q: question}
        """,
    )
    with pytest.raises(ConfigError) as caught:
        source_of(task)
    message = str(caught.value)
    assert "task.yaml:9: data_config.source.transformations[0].params.mappings" in message
    assert "did you mean 'mapping'?" in message


def test_dotted_path_transform_from_the_task_folder(tmp_path: Path) -> None:
    """`transform: module.Class` loads a third-party transform from the task folder."""
    module = """
        from collections.abc import Iterator
        from pydantic import BaseModel
        from grasp_core.protocols import SourceItem

        class Params(BaseModel):
            suffix: str

        class Shout:
            config_model = Params

            def __init__(self, suffix: str) -> None:
                self.suffix = suffix

            @classmethod
            def from_config(cls, config, env):
                return cls(config.suffix)

            def apply(self, items: Iterator[SourceItem]) -> Iterator[SourceItem]:
                for item in items:
                    yield SourceItem(item.record_id, {"q": item.data["q"].upper() + self.suffix})
        """
    task = task_with(
        tmp_path,
        """
        type: disk
        file_path: data.jsonl
        transformations:
          - {transform: my_transforms.Shout, params: {suffix: "!"}}
        """,
        {"my_transforms.py": module},
    )
    first = next(iter(source_of(task).iter_records()))
    assert first == SourceItem("r0", {"q": "QUESTION 0!"})


def test_a_dotted_path_to_something_else_is_refused(tmp_path: Path) -> None:
    """A dotted path to a plain function is not a transform class; the error says why."""
    task = task_with(
        tmp_path,
        """
        type: disk
        file_path: data.jsonl
        transformations: [{transform: steps.copy}]
        """,
    )
    with pytest.raises(PluginError, match=r"'steps\.copy' is not a transform class"):
        source_of(task)


def test_entry_point_transform_of_an_installed_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A package that declares a `grasp.transforms` entry point is found by name."""
    site = tmp_path / "site"
    (site / "acme_tf-1.0.dist-info").mkdir(parents=True)
    (site / "acme_tf-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: acme-tf\nVersion: 1.0\n"
    )
    (site / "acme_tf-1.0.dist-info" / "entry_points.txt").write_text(
        "[grasp.transforms]\nreverse_text = acme_tf:Reverse\n"
    )
    (site / "acme_tf.py").write_text(
        textwrap.dedent(
            """
            from pydantic import BaseModel
            from grasp_core.protocols import SourceItem

            class Reverse:
                config_model = type("NoParams", (BaseModel,), {})

                @classmethod
                def from_config(cls, config, env):
                    return cls()

                def apply(self, items):
                    for item in items:
                        yield SourceItem(item.record_id, {"q": item.data["q"][::-1]})
            """
        )
    )
    monkeypatch.syspath_prepend(str(site))
    assert "reverse_text" in registry.transforms.names()
    task = task_with(
        tmp_path / "task",
        """
        type: disk
        file_path: data.jsonl
        transformations: [{transform: reverse_text}]
        """,
    )
    assert next(iter(source_of(task).iter_records())).data == {"q": "0 noitseuq"}


def test_round_robin_shards_partition_the_transformed_stream(tmp_path: Path) -> None:
    """Shards of a shuffled source together hold each record once, as an unsharded run."""
    task = task_with(
        tmp_path,
        """
        type: disk
        file_path: data.jsonl
        transformations: [{transform: shuffle, params: {buffer_size: 3}}]
        """,
    )
    whole = ids(source_of(task), start=1, limit=8)
    shards = [ids(RoundRobinShard(source_of(task), i, 3), start=1, limit=8) for i in range(3)]
    assert sorted(i for shard in shards for i in shard) == sorted(whole)
    assert shards[0] == whole[0::3]
    with pytest.raises(ConfigError, match="need 0 <= index < count"):
        RoundRobinShard(source_of(task), 3, 3)


def test_a_plain_source_without_transforms_is_returned_as_is(tmp_path: Path) -> None:
    """No transforms: the runner gets the source type's own object (its fast start/limit)."""
    task = task_with(tmp_path, "{type: disk, file_path: data.jsonl}")
    assert type(source_of(task)).__name__ == "DiskSource"
