"""The hf sink: a save_to_disk folder made from committed parquet parts, exactly once under
resume, and a push to the hub through an injected HfApi-like recorder."""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from grasp_core import RunOptions, run_task
from grasp_core.errors import SinkError
from grasp_io.sinks import HfSink, HfSinkConfig
from grasp_io.sinks._hub import HubTarget
from tests.conftest import copy_task_yaml, write_task
from tests.io.hf_helpers import media_records, rows


class RecordingHub:
    """Records what a push would do; the uploaded folder is copied before it is deleted."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.files: dict[str, bytes] = {}
        self.fail = fail

    def create_repo(self, repo_id: str, **options: Any) -> None:
        self.calls.append(("create_repo", {"repo_id": repo_id, **options}))

    def upload_folder(self, **options: Any) -> None:
        self.calls.append(("upload_folder", options))
        if self.fail:
            raise RuntimeError("403 forbidden for token hf_secretvalue123")
        folder = Path(options["folder_path"])
        self.files = {
            str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()
        }


def load(path: Path) -> list[dict[str, Any]]:
    import datasets

    dataset = datasets.load_from_disk(str(path))
    return list(dataset.with_format("arrow").data.to_pylist())


def test_finalize_saves_a_dataset_folder(tmp_path: Path) -> None:
    """Every written record is in the load_from_disk dataset, in order; parts are gone."""
    sink = HfSink(tmp_path / "ds")
    sink.restore([])
    sink.write(rows("a", 3))
    sink.write(rows("b", 2))
    assert sink.finalize() == [tmp_path / "ds"]
    assert load(tmp_path / "ds") == rows("a", 3) + rows("b", 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_restore_drops_uncommitted_parts_and_reopens_a_finished_dataset(tmp_path: Path) -> None:
    """Only committed writes survive a resume, also after the dataset was saved."""
    sink = HfSink(tmp_path / "ds")
    sink.restore([])
    committed = [sink.write(rows("a", 2)), sink.write(rows("b", 2))]
    sink.write(rows("ghost", 1))
    resumed = HfSink(tmp_path / "ds")
    resumed.restore(committed)
    resumed.write(rows("c", 1))
    resumed.finalize()
    assert [r["id"] for r in load(tmp_path / "ds")] == ["a0", "a1", "b0", "b1", "c0"]
    again = HfSink(tmp_path / "ds")
    again.restore([*committed, {"part": "part-000004.parquet", "count": 1}])
    again.write(rows("d", 1))
    again.finalize()
    assert [r["id"] for r in load(tmp_path / "ds")] == ["a0", "a1", "b0", "b1", "c0", "d0"]


def test_no_records_writes_nothing(tmp_path: Path) -> None:
    """A run without output records leaves no dataset folder (and pushes nothing)."""
    hub = RecordingHub()
    target = HubTarget("me/empty", "train", True, None, "msg")
    sink = HfSink(tmp_path / "ds", hub=target, api_factory=lambda token: hub)
    sink.restore([])
    assert sink.finalize() == []
    assert not (tmp_path / "ds").exists()
    assert hub.calls == []


def test_push_creates_a_private_repo_and_uploads_parquet_shards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """push_to_hub: the repo is created private, the split's shards replace older ones,
    and the uploaded parquet holds the records with their media features."""
    monkeypatch.setenv("GRASP_TEST_HF_TOKEN", "hf_secretvalue123")
    hub = RecordingHub()
    tokens: list[str | None] = []

    def factory(token: str | None) -> RecordingHub:
        tokens.append(token)
        return hub

    config = HfSinkConfig.model_validate(
        {
            "type": "hf",
            "file_path": "ds",
            "push_to_hub": True,
            "repo_id": "me/synthetic",
            "token_env": "GRASP_TEST_HF_TOKEN",
            "split": "train",
        }
    )
    sink = HfSink.from_config(config, tmp_path)
    sink.api_factory = factory
    sink.restore([])
    sink.write(media_records(2))
    sink.finalize()
    assert tokens == ["hf_secretvalue123"]
    assert hub.calls[0] == (
        "create_repo",
        {"repo_id": "me/synthetic", "private": True, "repo_type": "dataset", "exist_ok": True},
    )
    upload = hub.calls[1][1]
    assert upload["repo_type"] == "dataset"
    assert upload["delete_patterns"] == ["data/train-*"]
    assert sorted(hub.files) == ["README.md", "data/train-00000-of-00001.parquet"]
    assert sink.pushed == ["data/train-00000-of-00001.parquet", "README.md"]
    shard = tmp_path / "shard.parquet"
    shard.write_bytes(hub.files["data/train-00000-of-00001.parquet"])
    assert pq.read_table(shard).to_pylist() == media_records(2)
    assert b'"_type": "Image"' in pq.read_schema(shard).metadata[b"huggingface"]


def test_push_failure_is_a_sink_error_without_the_token(tmp_path: Path) -> None:
    """The saved folder stays; the error says how to retry and hides the token."""
    hub = RecordingHub(fail=True)
    target = HubTarget("me/x", "train", True, "hf_secretvalue123", "msg")
    sink = HfSink(tmp_path / "ds", hub=target, api_factory=lambda token: hub)
    sink.restore([])
    sink.write(rows("a", 1))
    with pytest.raises(SinkError, match="--resume to retry the push") as caught:
        sink.finalize()
    assert "hf_secretvalue123" not in str(caught.value)
    assert load(tmp_path / "ds") == rows("a", 1)


def test_fields_the_first_record_lacks_are_kept(tmp_path: Path) -> None:
    """The dataset's columns are the union of the records' fields, not the first record's."""
    sink = HfSink(tmp_path / "ds")
    sink.restore([])
    sink.write([{"id": "a"}, {"id": "b", "extra": "KEEP ME"}])
    sink.finalize()
    assert load(tmp_path / "ds") == [{"id": "a", "extra": None}, {"id": "b", "extra": "KEEP ME"}]


def test_failed_save_keeps_every_record_for_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When save_to_disk fails (a full disk), the run stops with a SinkError saying to
    resume, and --resume then saves every committed record."""
    import datasets

    task = write_task(
        tmp_path,
        copy_task_yaml("{type: hf, file_path: out_ds}"),
        {
            "data.jsonl": "".join(
                json.dumps({"id": str(i), "q": f"q{i}"}) + "\n" for i in range(5)
            ),
            "steps.py": "def copy(state):\n    return state['q']\n",
        },
    )

    def full_disk(self: Any, *args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(datasets.Dataset, "save_to_disk", full_disk)
        with pytest.raises(SinkError, match=r"No space left.*run again with --resume"):
            run_task(task, RunOptions(batch_size=2))
    assert not (tmp_path / "out_ds").exists()
    resumed = run_task(task, RunOptions(batch_size=2, resume=True))
    assert (resumed.done, resumed.previously_done) == (0, 5)
    assert sorted(r["id"] for r in load(tmp_path / "out_ds")) == [str(i) for i in range(5)]
    assert not (tmp_path / ".out_ds.hf.parquet").exists()


@pytest.mark.parametrize("split", ["../../../escaped", "a/b", "", "train-1", ".x", "x."])
def test_split_must_be_a_split_name(split: str) -> None:
    """A split is a word or dotted words; a path-like split (it names files) is refused."""
    with pytest.raises(ValueError, match="is not a split name"):
        HfSinkConfig.model_validate({"type": "hf", "file_path": "ds", "split": split})
    for good in ("train", "test.v2", "validation_matched"):
        assert HfSinkConfig.model_validate({"type": "hf", "file_path": "d", "split": good})


def test_push_needs_a_repo_id() -> None:
    """push_to_hub without repo_id is rejected when the config is read."""
    with pytest.raises(ValueError, match="push_to_hub needs repo_id"):
        HfSinkConfig.model_validate({"type": "hf", "file_path": "ds", "push_to_hub": True})
