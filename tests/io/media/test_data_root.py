"""``GRASP_DATA_ROOT`` (set by GraSP Studio for its tries and runs) confines the files a
record's media paths, a disk source and a sink name to one folder, checked when the file is
opened: a symlink that leads out, or is swapped in after the Studio looked, is refused."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from grasp_core import DATA_ROOT_ENV, ConfigError, RecordError
from grasp_io._fs import resolve_path
from grasp_io.media._local import read_path
from grasp_io.sources.disk import DiskSource, DiskSourceConfig


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (2, 2)).save(out, format="PNG")
    return out.getvalue()


PNG = _png()


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    """``(root, outside)``: a folder with a task folder in it, and a file beside the root."""
    root = tmp_path / "root"
    (root / "task").mkdir(parents=True)
    (root / "task" / "pic.png").write_bytes(PNG)
    (root / "task" / "in.jsonl").write_text('{"id": "1"}\n', encoding="utf-8")
    outside = tmp_path / "secret.png"
    outside.write_bytes(PNG)
    return root, outside


def test_media_outside_the_root_fails_the_record(
    layout: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An absolute path out, ``..``, or a symlink inside leading out: one line, the record
    fails; the file inside reads as always."""
    root, outside = layout
    task = root / "task"
    (task / "link.png").symlink_to(outside)
    monkeypatch.setenv(DATA_ROOT_ENV, str(root))
    for text in (str(outside), "../../secret.png", "link.png"):
        with pytest.raises(RecordError, match=f"outside the folder {DATA_ROOT_ENV} names"):
            read_path(text, task, max_bytes=10_000)
    assert read_path("pic.png", task, max_bytes=10_000).mime == "image/png"


def test_without_the_variable_media_are_not_confined(layout: tuple[Path, Path]) -> None:
    """``grasp run`` from a terminal reads any file a record names, as before."""
    _, outside = layout
    assert read_path(str(outside), Path("."), max_bytes=10_000).data == PNG


def test_sources_and_sinks_get_the_real_file_inside_the_root(
    layout: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A source or sink path is resolved when it is opened: a symlink out is a ConfigError,
    and the path kept is the real file (a symlink swapped in later is never followed)."""
    root, outside = layout
    task = root / "task"
    (task / "out.jsonl").symlink_to(outside)
    (task / "alias.jsonl").symlink_to(task / "in.jsonl")
    monkeypatch.setenv(DATA_ROOT_ENV, str(root))
    with pytest.raises(ConfigError, match="outside the folder"):
        resolve_path("out.jsonl", task)
    assert resolve_path("alias.jsonl", task) == (task / "in.jsonl").resolve()
    with pytest.raises(ConfigError, match="outside the folder"):
        DiskSource.from_config(DiskSourceConfig(type="disk", file_path=str(outside)), task)
