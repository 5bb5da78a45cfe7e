"""Exactly-once output: after a crash, restore(committed) and the rest of the run."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grasp_core.protocols import CommitToken, Sink

MakeSink = Callable[[str, Path], Sink]  # the make_sink fixture of conftest.py
ReadBack = Callable[[Path], list[dict[str, Any]]]  # the read_back fixture


def batch(first: int, size: int) -> list[dict[str, Any]]:
    """Records whose values are all text, so that every format reads them back unchanged."""
    return [{"id": f"r{n}", "text": f"record {n}, ü"} for n in range(first, first + size)]


def test_crash_after_an_uncommitted_write_resumes_exactly_once(
    tmp_path: Path, kind: str, make_sink: MakeSink, read_back: ReadBack
) -> None:
    """Records of a write the journal never committed vanish; committed and new ones stay."""
    sink = make_sink(kind, tmp_path)
    sink.restore([])
    tokens = [sink.write(batch(0, 2)), sink.write(batch(2, 3)), sink.write(batch(5, 1))]
    sink.write(batch(100, 4))  # written, then the process died before the journal saw it
    sink.close()

    resumed = make_sink(kind, tmp_path)
    resumed.restore(tokens)
    resumed.write(batch(6, 2))
    (path,) = resumed.finalize()
    assert read_back(path) == batch(0, 8)


def test_two_crashes_in_a_row_still_resume_exactly_once(
    tmp_path: Path, kind: str, make_sink: MakeSink, read_back: ReadBack
) -> None:
    """Each resume starts from the journal's tokens, however many runs died before."""
    tokens: list[CommitToken] = []
    first = 0
    for run in range(3):
        sink = make_sink(kind, tmp_path)
        sink.restore(tokens)
        tokens.append(sink.write(batch(first, 2)))
        first += 2
        if run < 2:
            sink.write(batch(1000, 3))  # never committed
            sink.close()
    (path,) = sink.finalize()
    assert read_back(path) == batch(0, 6)


def test_restore_with_nothing_committed_discards_a_crashed_run(
    tmp_path: Path, kind: str, make_sink: MakeSink, read_back: ReadBack
) -> None:
    """A crash before the first commit leaves nothing behind after a fresh restore."""
    sink = make_sink(kind, tmp_path)
    sink.restore([])
    sink.write(batch(100, 3))
    sink.close()
    resumed = make_sink(kind, tmp_path)
    resumed.restore([])
    resumed.write(batch(0, 1))
    (path,) = resumed.finalize()
    assert read_back(path) == batch(0, 1)


def test_resume_of_a_finished_run_reopens_the_output(
    tmp_path: Path, kind: str, make_sink: MakeSink, read_back: ReadBack
) -> None:
    """Restoring after finalize reopens the output, so a resume can add records."""
    sink = make_sink(kind, tmp_path)
    sink.restore([])
    tokens = [sink.write(batch(0, 3)), sink.write(batch(3, 2))]
    sink.finalize()

    resumed = make_sink(kind, tmp_path)
    resumed.restore(tokens)
    resumed.write(batch(5, 2))
    (path,) = resumed.finalize()
    assert read_back(path) == batch(0, 7)


def test_parquet_crash_while_removing_merged_parts_resumes_exactly_once(
    tmp_path: Path, make_sink: MakeSink, read_back: ReadBack
) -> None:
    """If finalize died after the merge, with parts half removed, the output is reopened."""
    sink = make_sink("parquet", tmp_path)
    sink.restore([])
    tokens = [sink.write(batch(0, 1500)), sink.write(batch(1500, 700)), sink.write(batch(2200, 3))]
    parts = sorted((tmp_path / "out.parquet.parts").iterdir())
    sink.finalize()
    (tmp_path / "out.parquet.parts").mkdir()
    (tmp_path / "out.parquet.parts" / parts[2].name).write_bytes(b"")

    resumed = make_sink("parquet", tmp_path)
    resumed.restore(tokens)
    resumed.write(batch(2203, 1))
    (path,) = resumed.finalize()
    assert read_back(path) == batch(0, 2204)


@pytest.mark.parametrize("kind", ["jsonl", "json", "csv", "parquet"])
@settings(
    max_examples=20,
    deadline=None,
    # make_sink and read_back return stateless functions; each example has its own folder.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=4), min_size=1, max_size=6),
    data=st.data(),
)
def test_any_batch_split_and_crash_point_resumes_exactly_once(
    kind: str, make_sink: MakeSink, read_back: ReadBack, sizes: list[int], data: st.DataObject
) -> None:
    """Whatever the batches and wherever the crash, the output holds each record once."""
    starts = [sum(sizes[:i]) for i in range(len(sizes))]
    batches = [batch(start, size) for start, size in zip(starts, sizes, strict=True)]
    committed = data.draw(st.integers(min_value=0, max_value=len(batches)), label="committed")
    lost = data.draw(st.integers(min_value=0, max_value=len(batches) - committed), label="lost")
    with tempfile.TemporaryDirectory() as folder:
        sink = make_sink(kind, Path(folder))
        sink.restore([])
        tokens = [sink.write(records) for records in batches[:committed]]
        for records in batches[committed : committed + lost]:
            sink.write(records)  # written but never committed
        sink.close()

        resumed = make_sink(kind, Path(folder))
        resumed.restore(tokens)
        for records in batches[committed:]:
            resumed.write(records)
        files = resumed.finalize()
        everything = [record for records in batches for record in records]
        if kind == "parquet" and not everything:
            assert files == []
        else:
            assert read_back(files[0]) == everything
