"""The hf source: hub-style repository folders (loaded as ``datasets`` loads a hub id) and
``save_to_disk`` folders, streaming or memory-mapped, with ids, slices, shards and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grasp_core import RunOptions, run_task
from grasp_core.errors import ConfigError, SourceError
from grasp_io.sources import HfSource, HfSourceConfig
from tests.conftest import write_task
from tests.io.hf_helpers import make_repo, media_records, png, rows, save_media_dataset

STREAMING = pytest.mark.parametrize("streaming", [False, True], ids=["mapped", "streaming"])


def open_source(base: Path, repo_id: str, **options: object) -> HfSource:
    block = {"type": "hf", "repo_id": repo_id, "cache_dir": str(base / "cache"), **options}
    return HfSource.from_config(HfSourceConfig.model_validate(block), base)


def ids(source: HfSource, start: int = 0, limit: int | None = None) -> list[str]:
    return [item.record_id for item in source.iter_records(start, limit)]


@STREAMING
def test_repository_folder_reads_every_row_in_order(tmp_path: Path, streaming: bool) -> None:
    """A folder with data/train-*.parquet yields its rows, ids from the id column."""
    make_repo(tmp_path / "repo", {"train": rows("a", 5), "test": rows("b", 2)})
    source = open_source(tmp_path, "repo", streaming=streaming)
    items = list(source.iter_records())
    assert [i.record_id for i in items] == ["a0", "a1", "a2", "a3", "a4"]
    assert items[2].data == {"id": "a2", "text": "a text 2", "n": 2}
    assert all(item.error is None for item in items)


@STREAMING
def test_split_list_is_concatenated_and_positions_count_across(
    tmp_path: Path, streaming: bool
) -> None:
    """``split: [test, train]`` reads test then train; rows without ids use positions."""
    make_repo(tmp_path / "repo", {"train": rows("a", 3, ids=False), "test": rows("b", 2)})
    source = open_source(tmp_path, "repo", split=["test", "train"], streaming=streaming)
    assert ids(source) == ["b0", "b1", "2", "3", "4"]


@STREAMING
def test_start_and_limit_slice_the_records(tmp_path: Path, streaming: bool) -> None:
    """iter_records(start, limit) gives exactly that window, with position ids."""
    make_repo(tmp_path / "repo", {"train": rows("a", 700, ids=False)})
    source = open_source(tmp_path, "repo", streaming=streaming)
    assert ids(source, 3, 4) == ["3", "4", "5", "6"]
    assert ids(source, 600, 500) == [str(i) for i in range(600, 700)]
    assert ids(source, 0, 0) == []


@STREAMING
def test_jsonl_repository_with_config_in_readme(tmp_path: Path, streaming: bool) -> None:
    """A README declaring configs selects files by ``config_name``, as on the hub."""
    make_repo(tmp_path / "repo", {"train": rows("c", 3)}, file_format="jsonl", config="small")
    source = open_source(tmp_path, "repo", config_name="small", streaming=streaming)
    assert ids(source) == ["c0", "c1", "c2"]


@STREAMING
def test_shards_partition_the_records_and_keep_global_ids(tmp_path: Path, streaming: bool) -> None:
    """Every record lands in exactly one of the shards, under its whole-dataset id."""
    make_repo(tmp_path / "repo", {"train": rows("a", 11, ids=False)})
    source = open_source(tmp_path, "repo", streaming=streaming)
    parts = [ids(source.shard(i, 3)) for i in range(3)]
    assert sorted(int(i) for part in parts for i in part) == list(range(11))
    assert all(len(part) in (3, 4) for part in parts)
    with pytest.raises(ConfigError, match="0 <= index < count"):
        source.shard(3, 3)


@STREAMING
def test_shard_windows_are_global_positions(tmp_path: Path, streaming: bool) -> None:
    """start and limit are positions in the whole dataset, as for disk shards: the shards'
    windows together are exactly the unsharded window, each record once."""
    make_repo(tmp_path / "repo", {"train": rows("a", 11, ids=False)})
    source = open_source(tmp_path, "repo", streaming=streaming)
    for start, limit, count in [
        (2, 3, 3),
        (0, 4, 2),
        (3, None, 4),
        (5, 1, 3),
        (9, 10, 5),
        (0, None, 11),
        (1, 7, 12),
        (11, 2, 3),
    ]:
        whole = ids(source, start, limit)
        parts = [ids(source.shard(i, count), start, limit) for i in range(count)]
        together = [i for part in parts for i in part]
        assert sorted(together, key=int) == whole, (start, limit, count)
        assert all(part == sorted(part, key=int) for part in parts)


@STREAMING
def test_saved_dataset_folders_are_opened_with_load_from_disk(
    tmp_path: Path, streaming: bool
) -> None:
    """A Dataset and a DatasetDict saved with save_to_disk are both read; the dict by split."""
    import datasets

    datasets.Dataset.from_list(rows("s", 3)).save_to_disk(str(tmp_path / "single"))
    datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_list(rows("t", 2)),
            "dev": datasets.Dataset.from_list(rows("d", 2)),
        }
    ).save_to_disk(str(tmp_path / "dict"))
    assert ids(open_source(tmp_path, "single", streaming=streaming)) == ["s0", "s1", "s2"]
    both = open_source(tmp_path, "dict", split=["dev", "train"], streaming=streaming)
    assert ids(both) == ["d0", "d1", "t0", "t1"]
    with pytest.raises(SourceError, match=r"data_config.source.split.*'nope'.*\['train', 'dev'\]"):
        ids(open_source(tmp_path, "dict", split="nope", streaming=streaming))


@STREAMING
def test_media_columns_arrive_as_bytes_and_path(tmp_path: Path, streaming: bool) -> None:
    """Image and Audio features are not decoded: records hold the original bytes."""
    save_media_dataset(tmp_path / "media", 2)
    items = list(open_source(tmp_path, "media", streaming=streaming).iter_records())
    expected = media_records(2)
    assert [item.data for item in items] == expected
    assert items[1].data["image"]["bytes"] == png(40)


def test_duplicate_ids_become_error_items(tmp_path: Path) -> None:
    """A repeated id is an error item naming the row, not a silently merged record."""
    make_repo(tmp_path / "repo", {"train": [{"id": "x"}, {"id": "y"}, {"id": "x"}]})
    items = list(open_source(tmp_path, "repo").iter_records())
    assert [i.record_id for i in items] == ["x", "y", "<row 2>"]
    assert items[2].error is not None
    assert "duplicate id 'x'" in items[2].error


def test_missing_split_config_and_dataset_are_clear_errors(tmp_path: Path) -> None:
    """Each names the YAML option to fix and what exists instead."""
    make_repo(tmp_path / "repo", {"train": rows("a", 2)})
    with pytest.raises(SourceError, match=r"data_config.source.split.*'dev'.*train"):
        ids(open_source(tmp_path, "repo", split="dev"))
    with pytest.raises(SourceError, match=r"data_config.source.config_name.*'nope'"):
        ids(open_source(tmp_path, "repo", config_name="nope"))
    with pytest.raises(SourceError, match=r"data_config.source.repo_id.*'someone/absent'"):
        ids(open_source(tmp_path, "someone/absent"))
    with pytest.raises(SourceError, match=r"repo_id: './gone' is not a folder"):
        open_source(tmp_path, "./gone")


@STREAMING
def test_splits_with_different_columns_are_a_source_error(tmp_path: Path, streaming: bool) -> None:
    """Splits read together must have one set of columns; otherwise a SourceError names
    the option and the splits, not a raw ValueError from datasets."""
    import datasets

    datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict({"q": ["a", "b"]}),
            "test": datasets.Dataset.from_dict({"q": [1, 2]}),
        }
    ).save_to_disk(str(tmp_path / "saved"))
    source = open_source(tmp_path, "saved", split=["train", "test"], streaming=streaming)
    with pytest.raises(SourceError, match=r"data_config.source.split.*\['train', 'test'\]"):
        ids(source)


@STREAMING
def test_malformed_data_file_is_a_source_error(tmp_path: Path, streaming: bool) -> None:
    """A data file that does not parse stops the run with a SourceError naming the
    dataset and the cause, also when it is found only while rows stream."""
    (tmp_path / "repo" / "data").mkdir(parents=True)
    (tmp_path / "repo" / "data" / "train.jsonl").write_text('{"q": "a"}\n{"q": "b"\n')
    task = write_task(
        tmp_path,
        f"""
        data_config:
          source: {{type: hf, repo_id: ./repo, streaming: {str(streaming).lower()},
                   cache_dir: cache}}
          sink: {{type: jsonl, file_path: out.jsonl}}
        graph_config:
          nodes:
            copy: {{node_type: lambda, lambda: steps.copy, output_keys: copied}}
          edges:
            - {{from: START, to: copy}}
            - {{from: copy, to: END}}
        """,
        {"steps.py": "def copy(state):\n    return state['q']\n"},
    )
    with pytest.raises(SourceError, match=r"dataset '.*repo'.*ArrowInvalid: JSON parse error"):
        run_task(task, RunOptions())


def test_token_comes_from_the_named_variable_and_never_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unset variable is a ConfigError naming it; the token is not in reprs or errors."""
    with pytest.raises(ConfigError, match="'GRASP_TEST_HF_TOKEN' is not set"):
        open_source(tmp_path, "someone/absent", token_env="GRASP_TEST_HF_TOKEN")
    monkeypatch.setenv("GRASP_TEST_HF_TOKEN", "hf_secretvalue123")
    source = open_source(tmp_path, "someone/absent", token_env="GRASP_TEST_HF_TOKEN")
    assert source.request.token == "hf_secretvalue123"
    assert "hf_secretvalue123" not in repr(source) + repr(source.request)
    with pytest.raises(SourceError) as caught:
        ids(source)
    assert "hf_secretvalue123" not in str(caught.value)


def test_task_reads_an_hf_source_end_to_end(tmp_path: Path) -> None:
    """A run with `type: hf` processes every row once and resumes by the same ids."""
    make_repo(tmp_path / "repo", {"train": rows("a", 6)})
    task = write_task(
        tmp_path,
        """
        data_config:
          source: {type: hf, repo_id: repo, split: train, streaming: true}
          sink: {type: jsonl, file_path: out.jsonl}
        graph_config:
          nodes:
            shout: {node_type: lambda, lambda: steps.shout, output_keys: loud}
          edges:
            - {from: START, to: shout}
            - {from: shout, to: END}
        """,
        {"steps.py": "def shout(state):\n    return {'loud': state['text'].upper()}\n"},
    )
    first = run_task(task, RunOptions(num_records=2))
    second = run_task(task, RunOptions(resume=True))
    assert (first.done, second.done, second.previously_done) == (2, 4, 2)
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert sorted(r["id"] for r in lines) == [f"a{i}" for i in range(6)]
    assert {r["loud"] for r in lines} == {f"A TEXT {i}" for i in range(6)}
