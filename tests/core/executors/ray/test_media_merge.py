"""Merging shards' media: every shard's files are linked into the task's media folder under
the same names, and the merged rows' media paths point there."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grasp_core.executors.ray.merge import gather_media, merge_into
from grasp_core.protocols import Sink


class _ListSink:
    """A sink that keeps the rows written to it."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def restore(self, tokens: list[Any]) -> None:
        self.rows = []

    def write(self, rows: list[dict[str, Any]]) -> None:
        self.rows.extend(rows)

    def finalize(self) -> list[Path]:
        return []

    def close(self) -> None:
        pass


def test_gather_media_links_every_shards_files_once(tmp_path: Path) -> None:
    """Files from every shard land under the target at their relative path; the same name
    in two shards is one file; temporary files are left behind."""
    for shard, names in (("a", ["x.png", "same.png"]), ("b", ["y.wav", "same.png"])):
        folder = tmp_path / shard / "output.media" / "draw"
        folder.mkdir(parents=True)
        for name in names:
            (folder / name).write_bytes(f"bytes of {name}".encode())
        (folder / ".half.png.123.tmp").write_bytes(b"unfinished")
    target = tmp_path / "out" / "result.media"
    gather_media([tmp_path / s / "output.media" for s in ("a", "b", "missing")], target)
    placed = sorted(p.name for p in target.rglob("*") if p.is_file())
    assert placed == ["same.png", "x.png", "y.wav"]
    assert (target / "draw" / "y.wav").read_bytes() == b"bytes of y.wav"
    assert (tmp_path / "a" / "output.media" / "draw" / "x.png").is_file()  # shards keep theirs
    gather_media([tmp_path / "a" / "output.media"], target)  # again: nothing changes
    assert sorted(p.name for p in target.rglob("*") if p.is_file()) == placed


def test_merge_rewrites_media_paths_only(tmp_path: Path) -> None:
    """Media entries (also in lists) under the shard's media folder get the task's folder;
    other values, and dicts that are not media entries, are kept as they are."""
    part = tmp_path / "output.jsonl"
    picture = {"path": "output.media/draw/a.png", "type": "image/png", "size": 3}
    audio = {"path": "output.media/say/b.wav", "type": "audio/wav", "size": 9, "duration": 0.5}
    other = {"path": "output.media/x", "note": "not media"}
    row = {"id": "1", "picture": picture, "many": [picture, audio], "other": other}
    part.write_text(json.dumps(row) + "\n")
    sink = _ListSink()
    sinks: dict[str, Sink] = {"output": sink}  # type: ignore[dict-item]
    merge_into(sinks, [part], media=("output.media", "result.media"))
    [merged] = sink.rows
    assert merged["picture"]["path"] == "result.media/draw/a.png"
    assert [m["path"] for m in merged["many"]] == [
        "result.media/draw/a.png",
        "result.media/say/b.wav",
    ]
    assert merged["many"][1]["duration"] == 0.5
    assert merged["other"] == other
