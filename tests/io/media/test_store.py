"""The content-addressed media store: files named by their bytes' SHA-256 beside the output,
written whole before the record, stored once, and readable back as a media input."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from grasp_core.errors import RecordError
from grasp_core.mock_server._media_out import png_bytes, speech_wav
from grasp_io.media import MediaResolver, MediaStore, RemoteFetcher, is_stored

PNG = png_bytes(2, 1, b"\x00" + bytes(range(6)))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_bytes_are_stored_under_their_digest_with_the_sniffed_extension(
    tmp_path: Path,
) -> None:
    """The record names a relative path whose file holds exactly the bytes given."""
    store = MediaStore(tmp_path / "out" / "task.media")
    record = await store.save("draw", PNG, what="image 0 of node 'draw'")
    digest = hashlib.sha256(PNG).hexdigest()
    assert record == {
        "path": f"task.media/draw/{digest}.png",
        "type": "image/png",
        "size": len(PNG),
    }
    assert (tmp_path / "out" / record["path"]).read_bytes() == PNG
    assert is_stored(record)


@pytest.mark.anyio
async def test_audio_records_carry_their_duration(tmp_path: Path) -> None:
    """A WAV is stored as .wav with its duration in seconds."""
    record = await MediaStore(tmp_path / "t.media").save("say", speech_wav("hello"), what="x")
    assert record["type"] == "audio/wav"
    assert record["path"].endswith(".wav")
    assert record["duration"] == pytest.approx(0.2)


@pytest.mark.anyio
async def test_the_same_bytes_are_stored_once_and_never_rewritten(tmp_path: Path) -> None:
    """A second save of the same bytes (a resumed run) leaves the file untouched."""
    store = MediaStore(tmp_path / "t.media")
    first = await store.save("draw", PNG, what="x")
    path = tmp_path / first["path"]
    os.utime(path, ns=(1, 1))
    again = await MediaStore(tmp_path / "t.media").save("draw", PNG, what="x")
    assert again == first
    assert path.stat().st_mtime_ns == 1
    assert [p.name for p in path.parent.iterdir()] == [path.name]


@pytest.mark.anyio
async def test_leftover_temporary_files_are_swept(tmp_path: Path) -> None:
    """Temporary files of an interrupted write are removed; no temp file stays behind."""
    folder = tmp_path / "t.media" / "draw"
    folder.mkdir(parents=True)
    (folder / ".abc.png.123.tmp").write_bytes(b"half")
    record = await MediaStore(tmp_path / "t.media").save("draw", PNG, what="x")
    assert [p.name for p in folder.iterdir()] == [Path(record["path"]).name]


@pytest.mark.anyio
async def test_bytes_that_are_not_media_fail_the_record(tmp_path: Path) -> None:
    """A reply that is neither an image nor audio fails the record and writes nothing."""
    with pytest.raises(RecordError, match="image 0 of node 'draw'"):
        await MediaStore(tmp_path / "t.media").save(
            "draw", b"<html>", what="image 0 of node 'draw'"
        )
    assert not (tmp_path / "t.media" / "draw").exists() or not any(
        (tmp_path / "t.media" / "draw").iterdir()
    )


@pytest.mark.anyio
async def test_a_failed_write_fails_the_record(tmp_path: Path) -> None:
    """A media folder that cannot be written fails the record with a one-line reason."""
    (tmp_path / "t.media").write_text("a file where the folder should be")
    with pytest.raises(RecordError, match="cannot store it as"):
        await MediaStore(tmp_path / "t.media").save("draw", PNG, what="image 0")


@pytest.mark.anyio
async def test_a_run_without_output_cannot_store(tmp_path: Path) -> None:
    """Without a media folder the record fails, saying why."""
    with pytest.raises(RecordError, match="no output folder"):
        await MediaStore(None).save("draw", PNG, what="image 0")


@pytest.mark.anyio
async def test_a_stored_record_resolves_back_to_its_bytes(tmp_path: Path) -> None:
    """A later node reads a stored record as media, from the output's folder."""
    record = await MediaStore(tmp_path / "out" / "t.media").save("draw", PNG, what="x")
    resolver = MediaResolver(tmp_path / "task", RemoteFetcher(), tmp_path / "out")
    assert resolver.is_media(record)
    media = await resolver.resolve(record)
    assert (media.data, media.mime) == (PNG, "image/png")
