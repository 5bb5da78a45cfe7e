"""The JSONL, JSON array, CSV and Parquet sinks: formats, tokens and failures."""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from pydantic import BaseModel, ValidationError

from grasp_core.errors import SinkError
from grasp_core.protocols import Sink
from grasp_io import CsvSink, JsonArraySink, JsonlSink, ParquetSink

MakeSink = Callable[[str, Path], Sink]  # the make_sink fixture of conftest.py
ReadBack = Callable[[Path], list[dict[str, Any]]]  # the read_back fixture

RECORDS: list[dict[str, Any]] = [
    {"id": "r1", "text": 'héllo, "world"\nsecond line', "n": 3, "tags": ["a", "b"]},
    {"id": "r2", "text": "✓ ünïcode", "n": 4, "tags": []},
]


def test_each_sink_round_trips_records(
    tmp_path: Path, kind: str, make_sink: MakeSink, read_back: ReadBack
) -> None:
    """What a sink writes reads back as the same records (CSV as text, lists as JSON)."""
    sink = make_sink(kind, tmp_path)
    sink.restore([])
    sink.write(RECORDS[:1])
    sink.write(RECORDS[1:])
    (path,) = sink.finalize()
    if kind == "csv":
        assert read_back(path) == [
            {**record, "n": str(record["n"]), "tags": json.dumps(record["tags"]).replace(" ", "")}
            for record in RECORDS
        ]
    else:
        assert read_back(path) == RECORDS


def test_each_sink_satisfies_the_protocol_and_its_entry_point(
    tmp_path: Path, kind: str, make_sink: MakeSink
) -> None:
    """Each sink is a Sink, and its entry point loads the class and its config model."""
    sink = make_sink(kind, tmp_path)
    assert isinstance(sink, Sink)
    (entry,) = entry_points(group="grasp.sinks", name=kind)
    sink_type: Any = entry.load()
    config = sink_type.config_model.model_validate({"type": kind, "file_path": "out/x"})
    assert isinstance(config, BaseModel)
    assert type(sink) is sink_type


def test_relative_file_path_resolves_against_the_task_folder(tmp_path: Path, kind: str) -> None:
    """``file_path`` is relative to base_dir, and missing folders are created on restore."""
    (entry,) = entry_points(group="grasp.sinks", name=kind)
    sink_type = entry.load()
    config = sink_type.config_model.model_validate(
        {"type": kind, "file_path": f"deep/er/out.{kind}"}
    )
    sink = sink_type.from_config(config, tmp_path)
    sink.restore([])
    sink.write([{"id": "a"}])
    assert sink.finalize() == [tmp_path / "deep" / "er" / f"out.{kind}"]


def test_config_models_forbid_unknown_keys(kind: str) -> None:
    """A misspelt sink option is rejected rather than ignored."""
    (entry,) = entry_points(group="grasp.sinks", name=kind)
    with pytest.raises(ValidationError, match="extra"):
        entry.load().config_model.model_validate({"type": kind, "file_path": "x", "path": "y"})


def test_write_before_restore_is_a_sink_error(
    tmp_path: Path, kind: str, make_sink: MakeSink
) -> None:
    """Nothing is written until restore() has opened the sink."""
    with pytest.raises(SinkError, match=r"call restore\(\) before write\(\)"):
        make_sink(kind, tmp_path).write([{"id": "a"}])


def test_jsonl_lines_are_compact_and_keep_non_ascii(tmp_path: Path) -> None:
    """JSONL output is one compact object per line, with non-ASCII characters as is."""
    sink = JsonlSink(tmp_path / "o.jsonl")
    sink.restore([])
    sink.write([{"a": "é", "b": [1, 2]}, {"a": None}])
    assert (tmp_path / "o.jsonl").read_text(encoding="utf-8") == (
        '{"a":"é","b":[1,2]}\n{"a":null}\n'
    )


def test_jsonl_tokens_hold_the_committed_offset_and_count(tmp_path: Path) -> None:
    """A token is the file size after the write and the number of records written."""
    path = tmp_path / "o.jsonl"
    sink = JsonlSink(path)
    sink.restore([])
    first = sink.write([{"a": 1}, {"a": 2}])
    assert first == {"offset": path.stat().st_size, "count": 2}
    assert sink.write([]) == {"offset": first["offset"], "count": 0}
    assert sink.write([{"a": 3}]) == {"offset": path.stat().st_size, "count": 1}


def test_restore_with_nothing_committed_empties_an_existing_file(tmp_path: Path) -> None:
    """A fresh start truncates whatever an earlier run left in the file."""
    path = tmp_path / "o.jsonl"
    path.write_text('{"stale":true}\n', encoding="utf-8")
    sink = JsonlSink(path)
    sink.restore([])
    assert path.read_bytes() == b""


@pytest.mark.parametrize("sink_type", [JsonlSink, JsonArraySink, CsvSink])
def test_restore_fails_when_the_output_is_shorter_than_committed(
    tmp_path: Path, sink_type: type[JsonlSink | JsonArraySink | CsvSink]
) -> None:
    """A file cut below a committed offset was edited by hand; restore says so."""
    sink = sink_type(tmp_path / "o.out")
    sink.restore([])
    token = sink.write([{"a": 1}])
    sink.close()
    written = next(p for p in tmp_path.iterdir() if p.is_file())
    written.write_bytes(written.read_bytes()[:2])
    with pytest.raises(SinkError, match="modified by hand") as caught:
        sink_type(tmp_path / "o.out").restore([token])
    assert str(caught.value).startswith(f"{written} holds 2 bytes, but the journal committed")
    written.unlink()
    with pytest.raises(SinkError, match="moved or deleted by hand"):
        sink_type(tmp_path / "o.out").restore([token])


@pytest.mark.parametrize(
    ("sink_type", "token"),
    [(JsonlSink, {"part": "part-000001.parquet", "count": 1}), (ParquetSink, {"offset": 10})],
)
def test_restore_rejects_tokens_of_another_sink_type(
    tmp_path: Path, sink_type: type[JsonlSink | ParquetSink], token: dict[str, Any]
) -> None:
    """A token the sink did not write means the journal belongs to another output."""
    with pytest.raises(SinkError, match="another sink type"):
        sink_type(tmp_path / "o.out").restore([token])


def test_unserialisable_record_fails_the_write_and_writes_nothing(tmp_path: Path) -> None:
    """A record that is not JSON fails its whole batch, leaving the file as it was."""
    path = tmp_path / "o.jsonl"
    sink = JsonlSink(path)
    sink.restore([])
    sink.write([{"a": 1}])
    with pytest.raises(SinkError, match="record 1 of the batch"):
        sink.write([{"a": 2}, {"a": object()}])
    assert path.read_text(encoding="utf-8") == '{"a":1}\n'


def test_json_array_is_valid_with_zero_records(tmp_path: Path) -> None:
    """A run with no records still writes a valid, empty JSON array."""
    sink = JsonArraySink(tmp_path / "o.json")
    sink.restore([])
    sink.write([])
    (path,) = sink.finalize()
    assert json.loads(path.read_text(encoding="utf-8")) == []


def test_json_array_appears_at_finalize_and_leaves_no_side_files(tmp_path: Path) -> None:
    """The target exists only after finalize; staging and temporary files are removed."""
    sink = JsonArraySink(tmp_path / "o.json")
    sink.restore([])
    sink.write([{"a": 1}, {"a": 2}])
    assert not (tmp_path / "o.json").exists()
    assert sink.finalize() == [tmp_path / "o.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.json"]
    text = (tmp_path / "o.json").read_text(encoding="utf-8")
    assert text == '[\n{"a":1},\n{"a":2}\n]\n'
    assert sink.finalize() == [tmp_path / "o.json"]


def test_csv_header_comes_from_the_first_record_and_cells_are_encoded(tmp_path: Path) -> None:
    """Columns follow the first record; None is empty, booleans, objects and arrays are JSON."""
    path = tmp_path / "o.csv"
    sink = CsvSink(path)
    sink.restore([])
    sink.write([{"b": 1, "a": {"k": "é"}}, {"a": None}])
    sink.write([{"a": [1, 2], "b": True}])
    sink.finalize()
    assert path.read_text(encoding="utf-8") == 'b,a\n1,"{""k"":""é""}"\n,\ntrue,"[1,2]"\n'


def test_csv_unknown_keys_fail_the_whole_batch_and_leave_the_file_untouched(
    tmp_path: Path,
) -> None:
    """A record with keys outside the header fails the batch before a byte is written."""
    path = tmp_path / "o.csv"
    sink = CsvSink(path)
    sink.restore([])
    sink.write([{"a": 1}])
    before = path.read_bytes()
    with pytest.raises(SinkError, match=r"record 1 of the batch .* keys \['z'\]"):
        sink.write([{"a": 2}, {"a": 3, "z": 4}])
    assert path.read_bytes() == before


def test_csv_resume_rereads_the_header(tmp_path: Path) -> None:
    """After restore, the columns are those of the file being resumed."""
    path = tmp_path / "o.csv"
    sink = CsvSink(path)
    sink.restore([])
    token = sink.write([{"x": 1, "y": 2}])
    sink.close()
    resumed = CsvSink(path)
    resumed.restore([token])
    assert resumed.columns == ["x", "y"]
    resumed.write([{"y": 3}])
    with pytest.raises(SinkError, match=r"keys \['w'\]"):
        resumed.write([{"w": 1}])
    resumed.finalize()
    assert path.read_text(encoding="utf-8") == "x,y\n1,2\n,3\n"


def test_parquet_merges_parts_whose_schemas_differ_by_nulls(tmp_path: Path) -> None:
    """A column all null in one part and typed in another merges into the typed column."""
    sink = ParquetSink(tmp_path / "o.parquet")
    sink.restore([])
    sink.write([{"id": "a", "score": None, "meta": None}])
    sink.write([{"id": "b", "score": 0.5, "meta": {"k": "v"}}])
    sink.write([{"id": "c", "extra": 1}])
    (path,) = sink.finalize()
    table = pq.read_table(path)
    assert str(table.schema.field("score").type) == "double"
    assert table.to_pylist() == [
        {"id": "a", "score": None, "meta": None, "extra": None},
        {"id": "b", "score": 0.5, "meta": {"k": "v"}, "extra": None},
        {"id": "c", "score": None, "meta": None, "extra": 1},
    ]
    assert not sink.parts_dir.exists()


def test_parquet_batch_keeps_fields_the_first_record_lacks(tmp_path: Path) -> None:
    """A batch's columns are every record's fields in order of first appearance, and a later
    part's new fields are null in earlier records: no field is dropped."""
    sink = ParquetSink(tmp_path / "o.parquet")
    sink.restore([])
    sink.write([{"id": "a", "q": "x"}, {"id": "b", "q": "y", "extra": "KEEP ME"}, {"id": "c"}])
    sink.write([{"id": "d", "late": {"k": 1}}, {"q": "z", "id": "e", "extra": "too"}])
    (path,) = sink.finalize()
    table = pq.read_table(path)
    assert table.column_names == ["id", "q", "extra", "late"]
    assert table.to_pylist() == [
        {"id": "a", "q": "x", "extra": None, "late": None},
        {"id": "b", "q": "y", "extra": "KEEP ME", "late": None},
        {"id": "c", "q": None, "extra": None, "late": None},
        {"id": "d", "q": None, "extra": None, "late": {"k": 1}},
        {"id": "e", "q": "z", "extra": "too", "late": None},
    ]


def test_parquet_stores_empty_dicts_as_null(tmp_path: Path) -> None:
    """A field that is {} in every record of a batch (at any depth) is stored as null,
    instead of stopping the run: parquet has no struct without fields."""
    sink = ParquetSink(tmp_path / "o.parquet")
    sink.restore([])
    sink.write([{"id": "a", "meta": {}, "deep": {"x": {}}, "list": [{}]}, {"id": "b", "meta": {}}])
    sink.write([{"id": "c", "meta": {"k": "v"}, "deep": {"x": {"y": 1}}, "list": [{"z": 2}]}])
    (path,) = sink.finalize()
    assert pq.read_table(path).to_pylist() == [
        {"id": "a", "meta": None, "deep": {"x": None}, "list": [None]},
        {"id": "b", "meta": None, "deep": None, "list": None},
        {"id": "c", "meta": {"k": "v"}, "deep": {"x": {"y": 1}}, "list": [{"z": 2}]},
    ]


def test_parquet_promotes_ints_to_floats_and_merges_struct_fields(tmp_path: Path) -> None:
    """Integers meeting floats become floats; structs gain each other's fields."""
    sink = ParquetSink(tmp_path / "o.parquet")
    sink.restore([])
    sink.write([{"x": 1, "s": {"a": 1}}])
    sink.write([{"x": 2.5, "s": {"b": "t"}}])
    (path,) = sink.finalize()
    assert pq.read_table(path).to_pylist() == [
        {"x": 1.0, "s": {"a": 1, "b": None}},
        {"x": 2.5, "s": {"a": None, "b": "t"}},
    ]


def test_parquet_conflicting_types_across_parts_fail_at_finalize(tmp_path: Path) -> None:
    """Numbers in one part and text in another cannot merge; the error says what to do."""
    sink = ParquetSink(tmp_path / "o.parquet")
    sink.restore([])
    sink.write([{"x": 1}])
    sink.write([{"x": "one"}])
    with pytest.raises(SinkError, match="different types in different records"):
        sink.finalize()


def test_parquet_mixed_types_in_one_batch_name_the_field(tmp_path: Path) -> None:
    """A batch whose field mixes types fails naming the field, and writes no part."""
    sink = ParquetSink(tmp_path / "o.parquet")
    sink.restore([])
    with pytest.raises(SinkError, match="the field 'x' does not fit one type"):
        sink.write([{"y": 1, "x": 1}, {"y": 2, "x": "one"}])
    assert list(sink.parts_dir.iterdir()) == []


def test_parquet_with_zero_records_writes_no_file(tmp_path: Path) -> None:
    """Without records there is no schema: no file, finalize returns [], no parts left."""
    (tmp_path / "o.parquet").write_bytes(b"stale output of an earlier run")
    sink = ParquetSink(tmp_path / "o.parquet")
    sink.restore([])
    assert sink.write([]) == {"part": None, "count": 0}
    assert sink.finalize() == []
    assert list(tmp_path.iterdir()) == []


def test_parquet_restore_deletes_uncommitted_parts_and_continues_numbering(
    tmp_path: Path,
) -> None:
    """Parts no token names are deleted; new parts are numbered after the committed ones."""
    sink = ParquetSink(tmp_path / "o.parquet")
    sink.restore([])
    first = sink.write([{"n": 1}])
    sink.write([{"n": 2}])
    (sink.parts_dir / "part-000002.parquet.tmp").write_bytes(b"torn")
    sink.close()
    resumed = ParquetSink(tmp_path / "o.parquet")
    resumed.restore([first])
    assert sorted(p.name for p in resumed.parts_dir.iterdir()) == ["part-000001.parquet"]
    assert resumed.write([{"n": 3}]) == {"part": "part-000002.parquet", "count": 1}


def test_parquet_restore_detects_a_modified_part(tmp_path: Path) -> None:
    """A committed part that is missing or holds other rows stops the resume."""
    sink = ParquetSink(tmp_path / "o.parquet")
    sink.restore([])
    token = sink.write([{"n": 1}, {"n": 2}])
    sink.close()
    with pytest.raises(SinkError, match="modified by hand"):
        ParquetSink(tmp_path / "o.parquet").restore([{**token, "count": 5}])
    (sink.parts_dir / token["part"]).unlink()
    with pytest.raises(SinkError, match="cannot be read"):
        ParquetSink(tmp_path / "o.parquet").restore([token])


def test_json_array_edited_by_hand_cannot_be_reopened(tmp_path: Path) -> None:
    """Resuming a finished array that was reformatted fails instead of guessing."""
    sink = JsonArraySink(tmp_path / "o.json")
    sink.restore([])
    token = sink.write([{"a": 1}])
    sink.finalize()
    (tmp_path / "o.json").write_text('[{"a": 1}]', encoding="utf-8")
    with pytest.raises(SinkError, match="not laid out as this sink writes it"):
        JsonArraySink(tmp_path / "o.json").restore([token])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.json"]
